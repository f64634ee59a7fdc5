import { startSystem, STORES, type TestSystem } from './support/system.js';

/** Issue 12, "search that finds people": GET /v1/contact-points?q= over real HTTP, as each kind of caller. */
describe.each(STORES)('searching the directory (%s store)', (store) => {
  let system: TestSystem;
  let tokens: Record<'secretariat' | 'member' | 'observer' | 'auditor' | 'liaison', string>;
  let after: string;

  /** The search as `who`, seeing every write made so far; the raw query string is sent as given. */
  const search = (who: keyof typeof tokens, query: string) =>
    system.call('GET', `/v1/contact-points?${query}`, {
      token: tokens[who],
      headers: { 'focal-read-after': after },
    });
  const names = async (who: keyof typeof tokens, q: string) => {
    const response = await search(who, `q=${encodeURIComponent(q)}`);
    expect(response.status).toBe(200);
    expect(response.body.total).toBe(response.body.items.length);
    return (response.body.items as { fullName: string }[]).map((item) => item.fullName).sort();
  };

  beforeAll(async () => {
    system = await startSystem(store, 'search');
    const secretariat = await system.token({ role: 'secretariat', principal: 'secretariat-1' });
    for (const [code, name, status] of [
      ['FR', 'France', 'member'],
      ['BE', 'Belgium', 'member'],
      ['DE', 'Germany', 'member'],
      ['SE', 'Sweden', 'member'],
      ['NO', 'Norway', 'observer'],
    ] as const) {
      await system.ok('PUT', `/v1/states/${code}`, secretariat, {
        name,
        status,
        effectiveFrom: '2002-06-13',
      });
    }
    const icc = await system.ok('POST', '/v1/liaison-organisations', secretariat, {
      name: 'International Criminal Court',
      acronym: 'ICC',
      kind: 'international-court',
    });
    tokens = {
      secretariat,
      member: await system.token({ role: 'member-state', state: 'DE' }),
      observer: await system.token({ role: 'observer-state', state: 'NO' }),
      auditor: await system.token({ role: 'auditor' }),
      liaison: await system.token({ role: 'liaison-organisation', organisation: icc.body.id }),
    };
    const register = (state: string, fullName: string, email: string, more: Record<string, unknown>) =>
      system.ok('POST', '/v1/contact-points', secretariat, {
        state,
        fullName,
        email,
        role: 'investigator',
        languages: ['en'],
        ...more,
      });
    await register('FR', 'Claire Martin', 'claire.martin@justice.example', {
      phone: '+33140000000',
      role: 'prosecutor',
      authority: 'Parquet national antiterroriste',
      expertise: ['core international crimes'],
    });
    await register('FR', 'Claire Fontaine', 'c.fontaine@justice.example', {
      authority: 'Office central de lutte contre les crimes contre l’humanité',
      expertise: ['genocide'],
    });
    await register('FR', 'Amélie Dubois', 'adb.unit7@parquet.example', {
      role: 'judge',
      authority: 'Tribunal judiciaire de Paris',
    });
    await register('BE', 'Amelie Laurent', 'a.laurent@just.fgov.example', {
      role: 'prosecutor',
      authority: 'Parquet fédéral',
    });
    await register('DE', 'Jonas Müller', 'j.mueller@bka.example', { authority: 'Bundeskriminalamt' });
    const last = await register('SE', 'Erik Lindqvist', 'erik.lindqvist@polisen.example', {
      authority: 'Polismyndigheten Södertälje',
    });
    after = last.headers.get('focal-position')!;
  });
  afterAll(() => system?.stop());

  it('ignores accents and case, both ways, in names and authorities', async () => {
    expect(await names('liaison', 'amelie')).toEqual(['Amelie Laurent', 'Amélie Dubois']);
    expect(await names('liaison', 'amélie')).toEqual(['Amelie Laurent', 'Amélie Dubois']);
    expect(await names('member', 'AMÉLIE')).toEqual(['Amelie Laurent', 'Amélie Dubois']);
    expect(await names('liaison', 'muller')).toEqual(['Jonas Müller']);
    expect(await names('liaison', 'sodertalje')).toEqual(['Erik Lindqvist']);
    expect(await names('liaison', 'SÖDERTÄLJE')).toEqual(['Erik Lindqvist']);
  });

  it('finds every word, in any order and any field, each as a prefix', async () => {
    expect(await names('liaison', 'martin claire')).toEqual(['Claire Martin']);
    expect(await names('liaison', 'claire martin')).toEqual(['Claire Martin']);
    expect(await names('liaison', 'clai')).toEqual(['Claire Fontaine', 'Claire Martin']);
    expect(await names('liaison', 'mart clai')).toEqual(['Claire Martin']);
    expect(await names('liaison', 'claire genocide')).toEqual(['Claire Fontaine']);
    expect(await names('liaison', 'prosecutor parquet')).toEqual(['Amelie Laurent', 'Claire Martin']);
    expect(await names('liaison', 'humanite')).toEqual(['Claire Fontaine']);
    expect(await names('liaison', 'claire weber')).toEqual([]);
  });

  it('finds an e-mail, its local part and a phone number for every caller who may see closed fields', async () => {
    for (const who of ['secretariat', 'member', 'observer', 'auditor'] as const) {
      expect(await names(who, 'claire.martin@justice.example')).toEqual(['Claire Martin']);
      expect(await names(who, 'claire.martin')).toEqual(['Claire Martin']);
      expect(await names(who, 'adb.unit7')).toEqual(['Amélie Dubois']);
      expect(await names(who, '+33 1 40 00 00 00')).toEqual(['Claire Martin']);
    }
    expect(await names('secretariat', '@justice.example')).toEqual(['Claire Fontaine', 'Claire Martin']);
    expect(await names('secretariat', 'parquet')).toEqual([
      'Amelie Laurent',
      'Amélie Dubois',
      'Claire Martin',
    ]);
    const found = await search('member', `q=${encodeURIComponent('adb.unit7@parquet.example')}`);
    expect(found.body.items).toEqual([expect.objectContaining({ email: 'adb.unit7@parquet.example' })]);
  });

  it('never lets a liaison organisation find anyone by e-mail or phone', async () => {
    for (const q of [
      'adb.unit7@parquet.example',
      'adb.unit7',
      'unit7',
      'parquet.example',
      '@justice.example',
      'claire.martin@justice.example',
      '+33140000000',
      '01 40 00 00 00',
    ]) {
      expect({ q, found: await names('liaison', q) }).toEqual({ q, found: [] });
    }
    // Only open fields answer it: Amélie Dubois, whose e-mail domain is "parquet", is not among these.
    expect(await names('liaison', 'parquet')).toEqual(['Amelie Laurent', 'Claire Martin']);
    const listed = await search('liaison', 'q=claire');
    for (const item of listed.body.items) expect(item).not.toHaveProperty('email');
  });

  it('treats operators, quotes and backslashes as punctuation, and never answers 5xx', async () => {
    expect(await names('secretariat', 'claire & martin')).toEqual(['Claire Martin']);
    expect(await names('secretariat', '!martin')).toEqual(['Claire Martin']);
    expect(await names('secretariat', 'martin:* | weber')).toEqual([]);
    expect(await names('secretariat', `"claire" 'martin'`)).toEqual(['Claire Martin']);
    expect(await names('secretariat', 'claire\\martin')).toEqual(['Claire Martin']);
    for (const q of [`&|!():*<->`, `'`, `"`, '\\', `\\'`, `' OR '1'='1`, ':*', '   ', '👩‍⚖️', '\u200b']) {
      const response = await search('secretariat', `q=${encodeURIComponent(q)}`);
      expect({ q, status: response.status, total: response.body.total }).toEqual({
        q,
        status: 200,
        total: 0,
      });
    }
  });

  it('refuses what is not a search with 400 and a reason', async () => {
    for (const query of [
      'q=a%00b',
      `q=${'x'.repeat(201)}`,
      `q=${encodeURIComponent(Array.from({ length: 17 }, (_, i) => `w${i}`).join(' '))}`,
      'q=a&q=b',
    ]) {
      const response = await search('secretariat', query);
      expect({ query, status: response.status, reason: response.body.reason }).toEqual({
        query,
        status: 400,
        reason: 'invalid-input',
      });
      expect(response.body.errors).toHaveProperty('q');
    }
    const nul = await search('liaison', 'q=a%00b');
    expect(nul.body.errors.q).toMatch(/NUL/);
  });

  it('refuses bytes that are not UTF-8 and a lone % with a 400 naming q (SPEC §4), and a very long query too', async () => {
    for (const query of ['q=%ED%A0%80', 'q=%FF%FE', 'q=%', 'q=%E0%A4%A']) {
      const response = await search('secretariat', query);
      expect({ query, status: response.status, reason: response.body.reason }).toEqual({
        query,
        status: 400,
        reason: 'invalid-input',
      });
      expect(response.body.errors.q).toMatch(/percent-encoded UTF-8/);
    }
    const long = await search('secretariat', `q=${'%C3%A9'.repeat(2000)}`);
    expect(long.status).toBe(400);
    expect(long.body.errors.q).toMatch(/200/);
  });

  it('lists everyone for an empty q, as without one', async () => {
    const all = await search('liaison', 'q=');
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(6);
  });
});
