// One stream of progress events from every stage; the CLI prints it, reports and the
// benchmark read stage timings from it. Stages log through this, never to stdout directly.
export type Stage = 'setup' | 'kernel' | 'build' | 'image' | 'boot' | 'ssh' | 'load' | 'test' | 'unload' | 'teardown';

/**
 * `kernel` is what the stage knows the kernel as (the series until its exact release is
 * known); `series` is the kernel as the user named it, stable over the whole run, and is set
 * on every event that runOnKernel passes on.
 */
interface EventBase {
  kernel?: string;
  series?: string;
}

export type HarnessEvent = EventBase &
  (
    | { type: 'stage-start'; stage: Stage; detail?: string }
    | { type: 'stage-end'; stage: Stage; ms: number; detail?: string }
    | { type: 'info'; message: string }
    | { type: 'warn'; message: string }
    /**
     * Bytes done so far of a download (`total` when known), or with unit `objects` the objects a
     * kernel build has compiled; sent a few times a second at most.
     */
    | { type: 'progress'; stage: Stage; what: string; done: number; total?: number; unit?: 'bytes' | 'objects' }
    /** A kernel's run is over: its outcome and wall time (runOnKernel's last event). */
    | { type: 'kernel-end'; outcome: string; ms: number }
  );

export type Emit = (event: HarnessEvent) => void;

export const silent: Emit = () => {};

/** An emit that tags every event with the series it belongs to. */
export function forSeries(emit: Emit, series: string): Emit {
  return (event) => emit({ ...event, series });
}
