// What a module build hands on: its .ko files (with and without debug info), names and log.
export interface BuiltModule {
  /** .ko files in load order (modules.order), with debug info for symbolising traces. */
  kos: string[];
  /** The same modules without debug info: what is uploaded to the guest (a tenth of the bytes). */
  strippedKos: string[];
  /** Module names as the kernel knows them, same order. */
  names: string[];
  log: string;
  /** The build copy -> the user's module dir: paths the compiler wrote without the prefix map (UBSAN's). */
  pathMap: { from: string; to: string };
  /** The cross tools' prefix it was built with ('' for the host's architecture): its binutils read it. */
  crossCompile: string;
}
