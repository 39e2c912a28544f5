// The config file's shape, checked at load: a wrong or unknown field is named with its path.
import { z } from 'zod';
import { MAX_OUTPUT_LIMIT_MIB } from '../util/bounded-text.js';
import { UsageError } from '../errors.js';
import { MAX_TIMEOUT_S, OVER_CAP } from '../util/timers.js';
import type { KmodHarnessConfig } from './define.js';

// Capped: a timer cannot wait longer (timers.ts).
const seconds = z.number().positive().max(MAX_TIMEOUT_S, OVER_CAP);
const count = z.number().int().positive();

const schema = z.strictObject({
  module: z.string().min(1).optional(),
  test: z.string().min(1).optional(),
  testArgs: z.array(z.string()).optional(),
  kernels: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  kernelBuilds: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        series: z.string().min(1),
        fragments: z.array(z.string().min(1)).optional(),
        config: z
          .record(z.string().regex(/^(CONFIG_)?[A-Za-z0-9_]+$/, 'expected an option name such as CONFIG_FOO'), z.union([z.string(), z.number(), z.boolean()]))
          .optional(),
        debug: z.boolean().optional(),
      }),
    )
    .optional(),
  expect: z.strictObject({ kernelLog: z.array(z.string().min(1)).optional() }).optional(),
  timeouts: z
    .strictObject({
      fetch: seconds.optional(),
      toolchain: seconds.optional(),
      build: seconds.optional(),
      testBuild: seconds.optional(),
      upload: seconds.optional(),
      boot: seconds.optional(),
      load: seconds.optional(),
      test: seconds.optional(),
      unload: seconds.optional(),
      settle: z.number().min(0).max(3600).optional(),
    })
    .optional(),
  lifecycle: z.strictObject({ reloads: z.number().int().min(0).max(100).optional(), leftovers: z.boolean().optional() }).optional(),
  limits: z.strictObject({ outputMiB: z.number().positive().max(MAX_OUTPUT_LIMIT_MIB).optional() }).optional(),
  vm: z
    .strictObject({
      memory: count.min(128).optional(),
      cpus: count.optional(),
      parallel: count.optional(),
      bootParams: z.array(z.string().min(1)).optional(),
      strict: z.boolean().optional(),
      snapshot: z.boolean().optional(),
      accel: z.enum(['auto', 'kvm', 'tcg']).optional(),
    })
    .optional(),
  reports: z.strictObject({ json: z.string().min(1).optional(), junit: z.string().min(1).optional(), artifacts: z.string().min(1).optional() }).optional(),
}) satisfies z.ZodType<KmodHarnessConfig>;

/** A config file that cannot be loaded or has a bad field (exit 2, like any bad input). */
export class ConfigError extends UsageError {}

function fieldName(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') || '(the default export)';
}

/** The config as declared, or a ConfigError naming the first bad field and the expected type. */
export function validateConfig(value: unknown, file: string): KmodHarnessConfig {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.code === 'unrecognized_keys' ? fieldName([...issue.path, issue.keys[0]!]) : fieldName(issue.path);
  const message = issue.code === 'unrecognized_keys' ? 'is not a config field' : issue.message.replace(/^Invalid input: /, '');
  const known =
    'module, test, testArgs, kernels, kernelBuilds[].{name,series,fragments,config,debug}, expect.kernelLog, timeouts.{fetch,toolchain,build,testBuild,upload,boot,load,test,unload,settle}, lifecycle.{reloads,leftovers}, limits.outputMiB, vm.{memory,cpus,parallel,bootParams,strict,snapshot,accel}, reports.{json,junit,artifacts}';
  throw new ConfigError(`${file}: ${where}: ${message}`, { fix: `correct ${where} in ${file}; the fields are ${known}` });
}
