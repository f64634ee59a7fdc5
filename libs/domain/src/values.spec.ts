import {
  checkCountry,
  checkDate,
  checkEmail,
  checkFuture,
  checkLanguage,
  checkPhone,
  countryCount,
  languageCount,
} from './values.js';

describe('value objects', () => {
  it('knows every ISO 3166-1 alpha-2 and ISO 639-1 code', () => {
    expect(countryCount).toBe(249);
    expect(languageCount).toBe(183);
  });

  it('accepts real country codes and says what to use instead of common mistakes', () => {
    for (const code of ['FR', 'DE', 'GR', 'GB', 'US', 'GM', 'BA']) expect(checkCountry(code)).toBeUndefined();
    expect(checkCountry('EL')).toMatch(/use GR/);
    expect(checkCountry('UK')).toMatch(/use GB/);
    expect(checkCountry('fr')).toMatch(/upper case: FR/);
    expect(checkCountry('XX')).toMatch(/not an ISO 3166-1 alpha-2/);
  });

  it('checks languages, e-mail and E.164 phone numbers', () => {
    expect(checkLanguage('en')).toBeUndefined();
    expect(checkLanguage('EN')).toMatch(/ISO 639-1/);
    expect(checkLanguage('xx')).toMatch(/ISO 639-1/);
    expect(checkEmail('ncp@om.nl')).toBeUndefined();
    expect(checkEmail('ncp@om')).toMatch(/not an e-mail/);
    expect(checkPhone('+31703125000')).toBeUndefined();
    expect(checkPhone('070 312 5000')).toMatch(/E\.164/);
    expect(checkPhone('+0123')).toMatch(/E\.164/);
  });

  it('checks dates exist and lie in the future relative to the command', () => {
    expect(checkDate('2026-02-29')).toMatch(/YYYY-MM-DD/);
    expect(checkDate('2028-02-29')).toBeUndefined();
    expect(checkFuture('2026-12-01', '2026-11-22T10:00:00Z')).toBeUndefined();
    expect(checkFuture('2026-11-01', '2026-11-22T10:00:00Z')).toMatch(
      /not in the future \(now is 2026-11-22T10:00:00Z\)/,
    );
    expect(checkFuture('2026-11-22T09:00:00Z', '2026-11-22T10:00:00Z')).toMatch(/not in the future/);
  });
});
