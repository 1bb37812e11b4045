import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type OciSeccompProfile, parseOciSeccompProfile } from './oci-seccomp-profile.js';
import { AF_VSOCK, allowVsock, renderSeccompProfile, type SeccompTemplate } from './render-seccomp-profile.js';
import { seccompProfileFiles, VSOCK_PROFILE_ARCHES } from './seccomp-profile-files.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const readJson = (path: string): unknown => JSON.parse(readFileSync(`${root}${path}`, 'utf8'));
const template = readJson('packages/kube/seccomp/runtime-default.json') as SeccompTemplate;

/**
 * What a seccomp filter built from `profile` does with one call, following libseccomp: an ALLOW rule
 * whose argument conditions all hold allows it; else a matching non-ALLOW rule decides; else the default.
 */
function decide(profile: OciSeccompProfile, syscall: string, args: readonly number[]): string {
  const matching = (profile.syscalls ?? []).filter(
    (rule) =>
      rule.names.includes(syscall) &&
      (rule.args ?? []).every((arg) => {
        const value = args[arg.index] ?? 0;
        switch (arg.op) {
          case 'SCMP_CMP_NE':
            return value !== arg.value;
          case 'SCMP_CMP_EQ':
            return value === arg.value;
          case 'SCMP_CMP_MASKED_EQ':
            return (value & arg.value) === (arg.valueTwo ?? 0);
          default:
            throw new Error(`operator ${arg.op} not modelled`);
        }
      }),
  );
  const allow = matching.find((rule) => rule.action === 'SCMP_ACT_ALLOW');
  const other = allow ?? matching[0];
  if (other) return other.action === 'SCMP_ACT_ERRNO' ? `ERRNO ${other.errnoRet}` : other.action;
  return profile.defaultAction === 'SCMP_ACT_ERRNO' ? `ERRNO ${profile.defaultErrnoRet}` : profile.defaultAction;
}

const AF_INET = 2;
const AF_UNIX = 1;

describe('the vsock seccomp profiles in deploy/base/seccomp', () => {
  for (const arch of VSOCK_PROFILE_ARCHES) {
    const path = `deploy/base/seccomp/ferry-vsock-${arch}.json`;
    const shipped = parseOciSeccompProfile(readJson(path));
    const runtimeDefault = renderSeccompProfile(template, { arch });

    it(`${arch}: parses as an OCI seccomp profile`, () => {
      assert.equal(shipped.defaultAction, 'SCMP_ACT_ERRNO');
      assert.equal(shipped.defaultErrnoRet, 1);
      assert.ok((shipped.syscalls?.length ?? 0) > 10);
      assert.equal(shipped.architectures?.[0], arch === 'amd64' ? 'SCMP_ARCH_X86_64' : 'SCMP_ARCH_AARCH64');
    });

    it(`${arch}: is the runtime default with socket(AF_VSOCK) allowed, and nothing else changed`, () => {
      // The file is what the generator makes (npm run generate:seccomp -w @ferry/kube).
      assert.deepEqual(shipped, JSON.parse(seccompProfileFiles(template)[path] as string));
      const isSocketRule = (rule: { names: readonly string[] }) =>
        rule.names.length === 1 && rule.names[0] === 'socket';
      const withoutSocket = (profile: OciSeccompProfile) => ({
        ...profile,
        syscalls: profile.syscalls?.filter((rule) => !isSocketRule(rule)),
      });
      assert.deepEqual(withoutSocket(shipped), withoutSocket(runtimeDefault));
      assert.deepEqual(runtimeDefault.syscalls?.filter(isSocketRule), [
        { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] },
      ]);
      assert.deepEqual(shipped.syscalls?.filter(isSocketRule), [{ names: ['socket'], action: 'SCMP_ACT_ALLOW' }]);
    });

    it(`${arch}: decides socket() like the runtime default except for AF_VSOCK`, () => {
      assert.equal(decide(runtimeDefault, 'socket', [AF_VSOCK, 1, 0]), 'ERRNO 1');
      assert.equal(decide(shipped, 'socket', [AF_VSOCK, 1, 0]), 'SCMP_ACT_ALLOW');
      for (const family of [AF_INET, AF_UNIX]) {
        assert.equal(decide(runtimeDefault, 'socket', [family, 1, 0]), 'SCMP_ACT_ALLOW');
        assert.equal(decide(shipped, 'socket', [family, 1, 0]), 'SCMP_ACT_ALLOW');
      }
      for (const [call, args] of [
        ['mount', [0]],
        ['connect', [3]],
        ['clone3', [0]],
        ['ptrace', [0]],
        ['reboot', [0]],
        ['chroot', [0]],
        ['clone', [0x11]],
        ['clone', [0x10000000]],
      ] as const) {
        assert.equal(decide(shipped, call, args), decide(runtimeDefault, call, args), call);
      }
      assert.equal(decide(shipped, 'mount', [0]), 'ERRNO 1');
      assert.equal(decide(shipped, 'clone3', [0]), 'ERRNO 38');
      assert.equal(decide(shipped, 'chroot', [0]), 'SCMP_ACT_ALLOW');
    });
  }

  it('resolves template conditions by architecture and capability', () => {
    const amd64 = renderSeccompProfile(template, { arch: 'amd64' });
    const arm64 = renderSeccompProfile(template, { arch: 'arm64' });
    const names = (p: OciSeccompProfile) => new Set(p.syscalls?.flatMap((r) => (r.args ? [] : r.names)));
    assert.ok(names(amd64).has('arch_prctl'));
    assert.ok(!names(arm64).has('arch_prctl'));
    assert.ok(names(arm64).has('set_tls'));
    assert.ok(!names(amd64).has('mount'));
    const admin = renderSeccompProfile(template, { arch: 'amd64', capabilities: ['CAP_SYS_ADMIN'] });
    assert.ok(names(admin).has('mount'));
    assert.ok(!admin.syscalls?.some((r) => r.names.includes('clone3') && r.action === 'SCMP_ACT_ERRNO'));
  });

  it('refuses what is not an OCI profile', () => {
    assert.throws(() => parseOciSeccompProfile(template), /archMap is not a field/);
    assert.throws(() => parseOciSeccompProfile({ defaultAction: 'SCMP_ACT_NOPE' }), /defaultAction/);
    assert.throws(
      () =>
        parseOciSeccompProfile({
          defaultAction: 'SCMP_ACT_ERRNO',
          syscalls: [
            { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 7, value: 1, op: 'SCMP_CMP_EQ' }] },
          ],
        }),
      /index must be 0 to 5/,
    );
    assert.throws(() => allowVsock({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] }), /no socket\(\) rule/);
  });
});
