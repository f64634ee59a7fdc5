import { randomUUID } from 'node:crypto';

import { readCheckpoints, untilReadable } from '@focal/events';

import { testSecrets } from './support/secrets.js';
import { startSystem, STORES, type TestSystem } from './support/system.js';

describe.each(STORES)('the audit trail (%s store)', (store) => {
  let system: TestSystem;
  let secretariat: string;
  let auditor: string;
  let contactPointId: string;

  beforeAll(async () => {
    system = await startSystem(store, 'audit');
    secretariat = await system.token({ role: 'secretariat' });
    auditor = await system.token({ role: 'auditor', principal: 'dpo-1' });
    await system.ok('PUT', '/v1/states/FR', secretariat, {
      name: 'France',
      status: 'member',
      effectiveFrom: '2002-06-13',
    });
    const france = await system.token({ role: 'member-state', state: 'FR', principal: 'fr-editor' });
    const created = await system.ok('POST', '/v1/contact-points', france, {
      state: 'FR',
      fullName: 'Claire Martin',
      email: 'claire.martin@justice.gouv.fr',
      role: 'prosecutor',
      authority: 'Parquet de Paris',
      languages: ['fr'],
    });
    contactPointId = created.body.id;
    await system.ok('PATCH', `/v1/contact-points/${contactPointId}`, france, {
      authority: 'Parquet national antiterroriste',
    });
    await system.ok('DELETE', `/v1/contact-points/${contactPointId}/personal-data`, secretariat);
  });
  afterAll(() => system?.stop());

  it('is for the secretariat and auditors only: a member state or a liaison organisation gets 403', async () => {
    const registered = await system.ok('POST', '/v1/liaison-organisations', secretariat, {
      name: 'International Residual Mechanism for Criminal Tribunals',
      acronym: 'IRMCT',
      kind: 'un-mechanism',
    });
    const organisation = await system.token({
      role: 'liaison-organisation',
      organisation: registered.body.id,
    });
    const member = await system.token({ role: 'member-state', state: 'FR' });
    // The organisation's token is good elsewhere: the refusal below is the audit rule's, not authentication's.
    const own = await system.call('GET', '/v1/liaison-organisations', {
      token: organisation,
      headers: { 'focal-read-after': registered.headers.get('focal-position')! },
    });
    expect(own.status).toBe(200);
    for (const token of [member, organisation]) {
      for (const path of [
        '/v1/audit/events',
        '/v1/audit/streams/state-FR',
        '/v1/audit/verify',
        '/v1/directory?asOf=2024-01-01T00:00:00Z',
      ]) {
        const refused = await system.call('GET', path, { token });
        expect({ path, status: refused.status, type: refused.body.type }).toEqual({
          path,
          status: 403,
          type: 'urn:focal:problem:audit/secretariat-and-auditors-only',
        });
      }
    }
  });

  it('exports the log as NDJSON, with no personal data of an erased contact point', async () => {
    const response = await fetch(`${system.url}/v1/audit/events`, {
      headers: { authorization: `Bearer ${auditor}` },
    });
    expect(response.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line.type)).toEqual(
      expect.arrayContaining(['StateAdmitted', 'ContactPointRegistered', 'ContactPointPersonalDataErased']),
    );
    for (const line of lines)
      expect(line).toEqual(expect.objectContaining({ hash: expect.stringMatching(/^[0-9a-f]{64}$/) }));
    expect(JSON.stringify(lines)).not.toMatch(/Claire|claire\.martin/);

    const one = await fetch(
      `${system.url}/v1/audit/events?stream=contact-point-${contactPointId}&type=ContactPointDetailsChanged`,
      {
        headers: { authorization: `Bearer ${auditor}` },
      },
    );
    const filtered = (await one.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string });
    expect(filtered.map((line) => line.type)).toEqual(['ContactPointDetailsChanged']);
    // The id written in capitals names the same stream, as on the REST reads.
    const upper = await fetch(
      `${system.url}/v1/audit/events?stream=contact-point-${contactPointId.toUpperCase()}&type=ContactPointDetailsChanged`,
      { headers: { authorization: `Bearer ${auditor}` } },
    );
    expect((await upper.text()).trim().split('\n')).toHaveLength(1);
  });

  it("shows one entity's history: who, when, which command, what changed", async () => {
    const { body } = await system.ok('GET', `/v1/audit/streams/contact-point-${contactPointId}`, auditor);
    expect(body.changes).toHaveLength(3);
    const upper = await system.ok(
      'GET',
      `/v1/audit/streams/contact-point-${contactPointId.toUpperCase()}`,
      auditor,
    );
    expect(upper.body.changes).toHaveLength(3);
    expect(body.changes[1]).toMatchObject({
      type: 'ContactPointDetailsChanged',
      command: 'ChangeContactPointDetails',
      by: { principal: 'fr-editor', role: 'member-state', state: 'FR' },
      changes: [{ field: 'authority', from: 'Parquet de Paris', to: 'Parquet national antiterroriste' }],
    });
    expect(body.changes[2]).toMatchObject({
      type: 'ContactPointPersonalDataErased',
      command: 'EraseContactPointPersonalData',
    });
    expect(JSON.stringify(body)).not.toMatch(/Claire|claire\.martin/);
  });

  it("shows what each event said, not only what the entity keeps: a suspension's reason", async () => {
    const registered = await system.ok('POST', '/v1/liaison-organisations', secretariat, {
      name: 'Independent Investigative Mechanism for Myanmar',
      acronym: 'IIMM',
      kind: 'un-mechanism',
    });
    const id = registered.body.id as string;
    await system.ok('POST', `/v1/liaison-organisations/${id}/suspend`, secretariat, {
      reason: 'mandate under review by the Network',
    });
    const { body } = await system.ok('GET', `/v1/audit/streams/liaison-organisation-${id}`, auditor);
    expect(body.changes.map((change: { type: string }) => change.type)).toEqual([
      'LiaisonOrganisationRegistered',
      'LiaisonOrganisationSuspended',
    ]);
    expect(body.changes[1]).toMatchObject({
      data: { reason: 'mandate under review by the Network' },
      changes: [{ field: 'suspended', from: false, to: true }],
    });
  });

  it('verifies the log, and names the position of a tampered event', async () => {
    expect((await system.ok('GET', '/v1/audit/verify', auditor)).body).toMatchObject({ ok: true });
    const [row] = await system.sql<{ position: string }>(
      `SELECT position::text AS position FROM focal_events WHERE stream_id = 'state-FR'`,
    );
    await system.sql(
      `UPDATE focal_events SET data = jsonb_set(data, '{name}', '"Frankreich"') WHERE stream_id = 'state-FR'`,
    );
    const report = (await system.ok('GET', '/v1/audit/verify', auditor)).body;
    expect(report).toMatchObject({
      ok: false,
      firstFailure: { position: row!.position, streamId: 'state-FR' },
    });
  });

  it('records every audit read in the log, visible to the secretariat and auditors only', async () => {
    await untilReadable(system.persistence.store);
    const reads = await system.persistence.store.readAll({
      filter: { types: ['AuditTrailRead'] },
      limit: 1_000,
    });
    expect(reads.length).toBeGreaterThanOrEqual(4);
    expect(reads.map((event) => event.data.what)).toEqual(
      expect.arrayContaining(['/v1/audit/verify', '/v1/audit/events']),
    );
    expect(reads[0]!.metadata.actor).toMatchObject({ principal: 'dpo-1', role: 'auditor' });
    expect(reads[0]!.visibility).toEqual({ level: 'restricted', participants: [] });
  });
});

describe.each(STORES)('checkpoints sealed by the gateway (%s store)', (store) => {
  let system: TestSystem;
  const signer = testSecrets.signer;

  beforeAll(async () => {
    system = await startSystem(store, 'sealing', {
      checkpoints: { signer, trustedKeys: [signer.publicKey], everyEvents: 3, everyMs: 500 },
    });
  });
  afterAll(() => system?.stop());

  it('seals every N events or after T, and GET /v1/audit/verify checks every checkpoint', async () => {
    const secretariat = await system.token({ role: 'secretariat' });
    // Three events in one append: the sealer sees them at once and seals by count, whatever the pace of
    // the machine. Then one more, over HTTP: fewer than N, sealed once T has passed.
    const probe = (n: number) => ({
      eventId: randomUUID(),
      type: 'SealingProbeRecorded',
      data: { n },
      metadata: {
        actor: { principal: 'secretariat-1', role: 'secretariat' as const },
        correlationId: 'sealing',
      },
      visibility: { level: 'open' as const },
    });
    await system.persistence.store.append('sealing-probe', [1, 2, 3].map(probe), {
      expectedVersion: 'no-stream',
    });
    const admitted = await system.call('PUT', '/v1/states/PT', {
      token: secretariat,
      body: { name: 'Portugal', status: 'member', effectiveFrom: '2002-06-13' },
    });
    expect(admitted.status).toBeLessThan(300);
    const last = (await system.persistence.store.lastCommittedPosition())!;
    // One checkpoint of three events at once, the rest within T.
    let chain: Awaited<ReturnType<typeof readCheckpoints>> = [];
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      chain = await readCheckpoints(system.persistence.store);
      const sealedTo = chain.at(-1)?.checkpoint.lastPosition;
      if (sealedTo && BigInt(sealedTo) >= BigInt(last)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(chain[0]!.checkpoint).toMatchObject({ seq: 1, eventCount: 3, publicKey: signer.publicKey });
    expect(BigInt(chain.at(-1)!.checkpoint.lastPosition)).toBeGreaterThanOrEqual(BigInt(last));

    const verified = await system.call('GET', '/v1/audit/verify', { token: secretariat });
    expect(verified.body).toMatchObject({ ok: true, checkpoints: expect.any(Number) });
    expect(verified.body.checkpoints).toBeGreaterThanOrEqual(chain.length);
  });
});
