// A CLI-like process for test/unit/lifecycle.test.ts, run with jiti: installs the handlers,
// starts long-lived processes the teardown machinery knows about, prints `ready <json>`, then
// does what its mode says. argv: MODE LIMIT_MS MARKER. Modes: `wait` (for signals), `hang` (a
// teardown that never ends, then wait), `crash` / `reject` (an uncaught exception / unhandled
// rejection), `crash-hang` (a crash whose teardown never ends; the crash's limit is LIMIT_MS).
// A teardown writes MARKER when it runs.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { installCrashHandlers, installSignalHandlers, killOnTeardown, onTeardown } from '../../harness/src/util/lifecycle.js';
import { makeWorkDir } from '../../harness/src/util/workdir.js';

const [mode = 'wait', limit = '10000', marker = '/dev/null'] = process.argv.slice(2);
installSignalHandlers();
installCrashHandlers(Number(limit));

// A build's make: its own process group, killed through killOnTeardown.
const make = killOnTeardown(execa('sleep', ['1000'], { detached: true, reject: false, stdin: 'ignore' }));
// A QEMU: a plain child (no execa cleanup to hide behind), with a teardown and a hard kill.
const qemu = spawn('sleep', ['1001'], { stdio: 'ignore' });
const qemuExited = new Promise((r) => qemu.once('exit', r));
onTeardown(
  async () => {
    qemu.kill('SIGKILL');
    await qemuExited;
  },
  { hardKill: () => void qemu.kill('SIGKILL') },
);
const work = await makeWorkDir('kmod-harness-lifecycle-test-');
onTeardown(() => writeFileSync(marker, 'ran\n'));
// Registered last, so run first: nothing after it runs while it hangs.
if (mode === 'hang' || mode === 'crash-hang') onTeardown(() => new Promise<void>(() => {}));

process.stdout.write(`ready ${JSON.stringify({ pids: [make.pid, qemu.pid], workDir: work.path })}\n`);
if (mode === 'crash' || mode === 'crash-hang') {
  setTimeout(() => {
    throw new Error('boom from a timer');
  }, 50);
}
if (mode === 'reject') setTimeout(() => void Promise.reject(new Error('rejected and never caught')), 50);
// Kept alive by the children until a signal or the crash.
