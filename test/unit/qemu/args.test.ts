import { describe, expect, it } from 'vitest';
import {
  ARM64_TCG_CPU,
  CONSOLE_KEY,
  STRICT_BOOT_PARAMS,
  kernelCmdline,
  machineArgs,
  networkArgs,
  qemuArgs,
  serialArgs,
  type QemuOptions,
} from '../../../harness/src/qemu/args.js';

const options: QemuOptions = {
  kernel: '/cache/kernels/6.1/vmlinuz',
  initrd: '/cache/images/abc/initrd.cpio',
  append: ['console=ttyS0', 'rdinit=/init', 'panic=-1'],
  accel: 'kvm',
  memoryMiB: 512,
  cpus: 2,
  sshPort: 40022,
};

/** The value following `flag` (the first occurrence). */
const after = (argv: string[], flag: string): string | undefined => {
  const i = argv.indexOf(flag);
  return i < 0 ? undefined : argv[i + 1];
};

describe('machineArgs', () => {
  it('uses the host CPU under KVM', () => {
    expect(machineArgs('kvm')).toEqual(['-machine', 'q35', '-accel', 'kvm', '-cpu', 'host']);
  });

  it("uses TCG with the 'max' CPU without KVM (-cpu host does not exist there)", () => {
    const argv = machineArgs('tcg');
    expect(after(argv, '-accel')).toBe('tcg');
    expect(after(argv, '-cpu')).toBe('max');
    expect(argv).not.toContain('host');
  });
});

describe('machineArgs for an arm64 guest', () => {
  it("under TCG: the virt machine, multi-threaded TCG and the CPU model measured fastest (not 'max', whose pointer authentication is slow)", () => {
    expect(machineArgs('tcg', 'arm64')).toEqual(['-machine', 'virt', '-accel', 'tcg,thread=multi', '-cpu', 'cortex-a72']);
    expect(ARM64_TCG_CPU).toBe('cortex-a72');
  });

  it("under KVM (an arm64 host): the host's CPU and interrupt controller", () => {
    expect(machineArgs('kvm', 'arm64')).toEqual(['-machine', 'virt,gic-version=host', '-accel', 'kvm', '-cpu', 'host']);
  });

  it('an amd64 guest is unchanged by the default', () => {
    expect(machineArgs('tcg', 'amd64')).toEqual(machineArgs('tcg'));
  });

  it('qemuArgs of an arm64 guest: the same devices (virtio-net-pci, virtio-rng-pci, the serial console) on virt', () => {
    const argv = qemuArgs({ ...options, accel: 'tcg', arch: 'arm64' });
    expect(after(argv, '-machine')).toBe('virt');
    expect(argv).toContain('virtio-net-pci,netdev=net0');
    expect(argv).toContain('virtio-rng-pci');
    expect(argv).not.toContain('q35');
  });
});

describe('networkArgs', () => {
  it('forwards the SSH port from 127.0.0.1 only, with the guest restricted', () => {
    const argv = networkArgs(40022);
    const netdev = after(argv, '-netdev')!;
    expect(netdev.split(',')).toEqual(['user', 'id=net0', 'restrict=on', 'hostfwd=tcp:127.0.0.1:40022-:22']);
    expect(after(argv, '-device')).toBe('virtio-net-pci,netdev=net0');
  });
});

describe('serialArgs', () => {
  it('sends the console to stdio only: the harness writes the bounded log file, not QEMU', () => {
    expect(serialArgs()).toEqual(['-chardev', 'stdio,id=console,signal=off', '-serial', 'chardev:console']);
  });
});

describe('qemuArgs', () => {
  const argv = qemuArgs(options);

  it('stops at a guest reboot or panic and has no default devices or monitor', () => {
    expect(argv).toContain('-no-reboot');
    expect(argv).toContain('-nodefaults');
    expect(after(argv, '-monitor')).toBe('none');
    expect(after(argv, '-display')).toBe('none');
  });

  it('passes kernel, initrd, resources and the accelerator through', () => {
    expect(after(argv, '-kernel')).toBe(options.kernel);
    expect(after(argv, '-initrd')).toBe(options.initrd);
    expect(after(argv, '-m')).toBe('512');
    expect(after(argv, '-smp')).toBe('2');
    expect(after(argv, '-accel')).toBe('kvm');
    expect(after(qemuArgs({ ...options, accel: 'tcg' }), '-cpu')).toBe('max');
  });

  it('joins the kernel command line into one -append word, separated by single spaces', () => {
    expect(argv.filter((a) => a === '-append')).toHaveLength(1);
    expect(after(argv, '-append')).toBe('console=ttyS0 rdinit=/init panic=-1');
  });

  it('includes the network, the RNG and the serial console', () => {
    expect(after(argv, '-netdev')).toContain('hostfwd=tcp:127.0.0.1:40022-:22');
    expect(argv).toContain('virtio-rng-pci');
    expect(after(argv, '-chardev')).toBe('stdio,id=console,signal=off');
    expect(argv.join(' ')).not.toContain('logfile');
  });

  it('is an argv, not a shell string: no quoting, no word holds a flag and its value', () => {
    const spaced = qemuArgs({ ...options, kernel: '/dir with space/vmlinuz', append: ['a=1', 'b=2'] });
    expect(after(spaced, '-kernel')).toBe('/dir with space/vmlinuz');
    for (const word of spaced) expect(word).not.toMatch(/["'\\]/);
    for (const word of spaced.filter((w) => w.startsWith('-'))) expect(word).not.toContain(' ');
  });
});

describe('kernelCmdline', () => {
  it("names the arm64 guest's PL011 console, ttyAMA0", () => {
    expect(kernelCmdline({ publicKey: 'K', arch: 'arm64' })[0]).toBe('console=ttyAMA0');
    expect(kernelCmdline({ publicKey: 'K', arch: 'amd64' })[0]).toBe('console=ttyS0');
  });

  it('puts the console, init, panic=-1, an 8 MiB log buffer, the public key and the strict parameters on the command line', () => {
    expect(kernelCmdline({ publicKey: 'AAAAC3NzaC1lZDI1NTE5AAAAIB+/x=' })).toEqual([
      'console=ttyS0',
      'rdinit=/init',
      'panic=-1',
      'log_buf_len=8M',
      'kmod_harness.key=AAAAC3NzaC1lZDI1NTE5AAAAIB+/x=',
      'slub_debug=FZPU',
      'init_on_free=1',
      'kfence.sample_interval=100',
    ]);
  });

  it('leaves the strict parameters out on request', () => {
    const cmdline = kernelCmdline({ publicKey: 'K', strict: false });
    for (const p of STRICT_BOOT_PARAMS) expect(cmdline).not.toContain(p);
  });

  it('enables KUnit on a KUnit kernel, whether strict or not, before the user parameters (kunit.enable=0 can still win)', () => {
    expect(kernelCmdline({ publicKey: 'K' })).not.toContain('kunit.enable=1');
    const cmdline = kernelCmdline({ publicKey: 'K', strict: false, kunit: true, extra: ['kunit.enable=0'] });
    expect(cmdline.slice(-2)).toEqual(['kunit.enable=1', 'kunit.enable=0']);
  });

  it('appends extra parameters last, each as its own word', () => {
    const cmdline = kernelCmdline({ publicKey: 'K', strict: false, extra: ['quiet', 'kasan.fault=panic'] });
    expect(cmdline.slice(-2)).toEqual(['quiet', 'kasan.fault=panic']);
    expect(cmdline).toContain('panic=-1');
    expect(after(qemuArgs({ ...options, append: cmdline }), '-append')).toBe(
      'console=ttyS0 rdinit=/init panic=-1 log_buf_len=8M kmod_harness.key=K quiet kasan.fault=panic',
    );
  });
});

describe('snapshot argv: RAM in a file, QMP, -incoming', () => {
  const withRam = (accel: 'kvm' | 'tcg', arch: 'amd64' | 'arm64', share: boolean, incoming = false) =>
    qemuArgs({ ...options, accel, arch, ramFile: { path: '/dev/shm/a,b.ram', share }, qmpSocket: '/tmp/w/qmp.sock', incoming });

  it('a saving guest maps its RAM from the file shared; the machine takes it as its memory backend', () => {
    const argv = withRam('tcg', 'amd64', true);
    expect(after(argv, '-machine')).toBe('q35,memory-backend=ram0');
    // A comma in the path is doubled, as QEMU's option syntax wants.
    expect(after(argv, '-object')).toBe('memory-backend-file,id=ram0,size=512M,mem-path=/dev/shm/a,,b.ram,share=on');
    expect(after(argv, '-qmp')).toBe('unix:/tmp/w/qmp.sock,server=on,wait=off');
    expect(argv).not.toContain('-incoming');
  });

  it('a restoring guest maps the same file private (copy on write) and waits for its state', () => {
    const argv = withRam('tcg', 'amd64', false, true);
    expect(after(argv, '-object')).toMatch(/,share=off$/);
    expect(after(argv, '-incoming')).toBe('defer');
  });

  it('under KVM: the host CPU and the same memory backend, on amd64 and arm64 (argv only: no usable KVM here)', () => {
    const x86 = withRam('kvm', 'amd64', false, true);
    expect([after(x86, '-machine'), after(x86, '-accel'), after(x86, '-cpu')]).toEqual(['q35,memory-backend=ram0', 'kvm', 'host']);
    const arm = withRam('kvm', 'arm64', false, true);
    expect([after(arm, '-machine'), after(arm, '-accel'), after(arm, '-cpu')]).toEqual(['virt,gic-version=host,memory-backend=ram0', 'kvm', 'host']);
    expect(after(arm, '-object')).toBe('memory-backend-file,id=ram0,size=512M,mem-path=/dev/shm/a,,b.ram,share=off');
  });

  it('a plain boot has none of it', () => {
    const argv = qemuArgs(options);
    expect(argv).not.toContain('-qmp');
    expect(argv).not.toContain('-object');
    expect(after(argv, '-machine')).toBe('q35');
  });

  it("the console key makes init wait for the run's key on the console", () => {
    expect(kernelCmdline({ publicKey: CONSOLE_KEY })).toContain('kmod_harness.key=console');
  });
});
