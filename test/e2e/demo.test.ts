import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runFerry } from '../support/cli.js';

describe('ferry demo', () => {
  it('runs 4 tenants for 10 s with no errors and traffic from every tenant', async () => {
    const result = await runFerry(['demo', '--tenants', '4', '--duration', '10', '--json']);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.tenants, 4);
    assert.equal(summary.errors, 0);
    assert.equal(summary.perTenant.length, 4);
    for (const tenant of summary.perTenant) {
      assert.match(tenant.tenant, /^[0-9a-f]{8,64}$/, 'tenants are the sandbox ids of their sockets');
      assert.ok(tenant.requests > 0, `tenant ${tenant.tenant} sent traffic`);
      assert.ok(tenant.ocr > 0 && tenant.classify > 0 && tenant.infer > 0, JSON.stringify(tenant));
    }
    assert.equal(
      summary.requests,
      summary.perTenant.reduce((n: number, t: { requests: number }) => n + t.requests, 0),
    );
    assert.ok(summary.p99Ms >= summary.p50Ms && summary.p50Ms > 0);
  });

  it('refuses bad options with usage errors', async () => {
    const tooMany = await runFerry(['demo', '--tenants', '65', '--json']);
    assert.equal(tooMany.code, 2);
    assert.match(tooMany.stderr, /--tenants is at most 64/);
    const badDuration = await runFerry(['demo', '--duration', 'soon']);
    assert.equal(badDuration.code, 2);
  });
});
