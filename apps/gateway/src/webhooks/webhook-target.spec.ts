import { checkWebhookUrl, classifyAddress, resolveTarget, type Resolver } from './webhook-target.js';

const strict = { allowLoopback: false };
const development = { allowLoopback: true };
/** A resolver that answers from a table, as DNS would for these names. */
const table =
  (entries: Record<string, string[]>): Resolver =>
  async (hostname) => {
    const addresses = entries[hostname];
    if (!addresses) throw Object.assign(new Error(`no ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

describe('classifying addresses: public is what ipaddr.js calls unicast, and no more', () => {
  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '1.1.1.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    // IPv6 forms that carry a public IPv4 address are as public as it.
    '::ffff:93.184.216.34',
    '64:ff9b::5db8:d822',
    '2002:5db8:d822::1',
    '2001:0:5db8:d822::a247:27dd',
  ])('%s is public', (address) => {
    expect(classifyAddress(address)).toEqual({ public: true });
  });

  it.each([
    ['0.0.0.0', /unspecified/],
    ['0.1.2.3', /unspecified/],
    ['10.0.0.1', /private/],
    ['172.16.5.4', /private/],
    ['172.31.255.255', /private/],
    ['192.168.1.1', /private/],
    ['169.254.169.254', /link-local/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['100.127.255.254', /carrier-grade NAT/],
    ['198.18.0.1', /benchmarking address \(198\.18\.0\.0\/15\)/],
    ['198.19.255.255', /benchmarking/],
    ['240.0.0.1', /reserved address \(240\.0\.0\.0\/4\)/],
    ['250.1.2.3', /reserved/],
    ['255.255.255.255', /broadcast/],
    ['224.0.0.1', /multicast/],
    ['239.255.255.250', /multicast/],
    ['192.0.2.1', /documentation/],
    ['198.51.100.7', /documentation/],
    ['203.0.113.9', /documentation/],
    ['192.0.0.8', /IETF protocol assignment/],
    ['192.88.99.1', /6to4 relay/],
    ['192.175.48.1', /AS112/],
    ['192.52.193.1', /AMT/],
    ['::', /unspecified/],
    ['fe80::1', /link-local/],
    ['fc00::1', /unique local/],
    ['fd12:3456::1', /unique local/],
    ['ff02::1', /multicast/],
    ['fec0::1', /site-local/],
    ['100::1', /discard/],
    ['2001:db8::1', /reserved or documentation/],
    ['2001:2::1', /benchmarking/],
    ['3fff::1', /reserved/],
    ['::ffff:10.0.0.1', /IPv4-mapped address carrying 10\.0\.0\.1, a private address/],
    ['::ffff:169.254.169.254', /IPv4-mapped .* link-local/],
    ['::ffff:0:7f00:1', /IPv4-translated address carrying 127\.0\.0\.1, a loopback/],
    ['64:ff9b::7f00:1', /NAT64 address \(64:ff9b::\/96\) carrying 127\.0\.0\.1, a loopback address/],
    ['64:ff9b::a00:1', /NAT64 .* carrying 10\.0\.0\.1, a private/],
    ['64:ff9b::c612:1', /NAT64 .* carrying 198\.18\.0\.1, a benchmarking/],
    ['64:ff9b:1::1', /local-use NAT64/],
    ['2002:7f00:1::', /6to4 address \(2002::\/16\) carrying 127\.0\.0\.1, a loopback address/],
    ['2002:c0a8:101::1', /6to4 .* carrying 192\.168\.1\.1, a private/],
    ['2002:ffff:ffff::', /6to4 .* carrying 255\.255\.255\.255, the broadcast/],
    // Teredo: the client's address is stored with its bits inverted (127.0.0.1 -> 80ff:fffe).
    ['2001:0:5db8:d822::80ff:fffe', /Teredo address .* carrying 127\.0\.0\.1, a loopback/],
    ['2001:0:a00:1::a247:27dd', /Teredo address .* carrying 10\.0\.0\.1, a private/],
    // What ipaddr.js leaves as unicast outside 2000::/3: unassigned, or the deprecated IPv4-compatible form.
    ['::7f00:1', /outside the global unicast range/],
    ['4000::1', /outside the global unicast range/],
    ['5f00::1', /special-purpose/],
  ])('%s is refused: %s', (address, description) => {
    const verdict = classifyAddress(address);
    expect(verdict.public).toBe(false);
    expect(verdict).toMatchObject({ loopback: false, description: expect.stringMatching(description) });
  });

  it.each(['127.0.0.1', '127.255.255.254', '::1', '::ffff:127.0.0.1'])(
    '%s is loopback, the one kind the development flag admits',
    (address) => {
      expect(classifyAddress(address)).toMatchObject({
        public: false,
        loopback: true,
        description: expect.stringMatching(/loopback/),
      });
    },
  );
});

describe('resolving a target: every address the host has, checked', () => {
  const url = (host: string) => new URL(`https://${host}/hook`);

  it('connects to the address it checked', async () => {
    const resolve = table({ 'hooks.example.org': ['93.184.216.34', '2606:4700:4700::1111'] });
    expect(await resolveTarget(url('hooks.example.org'), { ...strict, resolve })).toMatchObject({
      address: '93.184.216.34',
      family: 4,
    });
  });

  it('refuses a host with one non-public address among public ones', async () => {
    const resolve = table({ 'mixed.example.org': ['93.184.216.34', '10.0.0.7'] });
    await expect(resolveTarget(url('mixed.example.org'), { ...strict, resolve })).rejects.toThrow(
      'mixed.example.org resolves to 10.0.0.7, a private address: webhooks go to public addresses only',
    );
  });

  it('admits loopback with the development flag only, and says which flag', async () => {
    const resolve = table({ 'dev.example.test': ['127.0.0.1'] });
    await expect(resolveTarget(url('dev.example.test'), { ...strict, resolve })).rejects.toThrow(
      /a loopback address: .*FOCAL_WEBHOOKS_ALLOW_LOOPBACK=true/,
    );
    expect(await resolveTarget(url('dev.example.test'), { ...development, resolve })).toMatchObject({
      address: '127.0.0.1',
    });
  });

  it('never admits loopback reached through NAT64, 6to4 or Teredo, flag or not', async () => {
    const resolve = table({
      nat64: ['64:ff9b::7f00:1'],
      sixtofour: ['2002:7f00:1::1'],
      teredo: ['2001:0:5db8:d822::80ff:fffe'],
    });
    for (const host of ['nat64', 'sixtofour', 'teredo']) {
      await expect(resolveTarget(url(host), { ...development, resolve })).rejects.toThrow(
        /carrying 127\.0\.0\.1/,
      );
    }
  });

  it('names a host that does not resolve', async () => {
    await expect(
      resolveTarget(url('nowhere.example.test'), { ...strict, resolve: table({}) }),
    ).rejects.toThrow('nowhere.example.test does not resolve (ENOTFOUND)');
  });
});

describe('webhook URLs at registration', () => {
  it('takes public http(s) addresses', async () => {
    expect((await checkWebhookUrl('https://93.184.216.34/hook', strict)).href).toBe(
      'https://93.184.216.34/hook',
    );
  });

  it.each([
    ['ftp://93.184.216.34/hook', /ftp: URLs are not delivered to/],
    ['not a url', /is not a URL/],
    ['https://user:pw@93.184.216.34/hook', /no credentials/],
    ['http://127.0.0.1:8080/hook', /loopback address/],
    ['http://[::1]/hook', /loopback address/],
    ['http://10.1.2.3/hook', /private address/],
    ['http://192.168.1.10/hook', /private address/],
    ['http://169.254.169.254/latest/meta-data', /link-local address/],
    ['http://localhost/hook', /loopback address/],
    // Literal forms the URL parser normalises (decimal, hex, short) are checked as the address they are.
    ['http://2130706433/hook', /127\.0\.0\.1, a loopback address/],
    ['http://0x7f.1/hook', /127\.0\.0\.1, a loopback address/],
    ['http://198.18.0.1/hook', /benchmarking/],
    ['http://240.0.0.1/hook', /reserved/],
    ['http://255.255.255.255/hook', /broadcast/],
    ['http://[::ffff:127.0.0.1]/hook', /loopback/],
    ['http://[64:ff9b::127.0.0.1]/hook', /NAT64 .* carrying 127\.0\.0\.1/],
    ['http://[2002:7f00:1::]/hook', /6to4 .* carrying 127\.0\.0\.1/],
  ])('refuses %s', async (url, message) => {
    await expect(checkWebhookUrl(url, strict)).rejects.toThrow(message);
  });

  it('allows loopback targets only with the development flag, and never private ones', async () => {
    expect((await checkWebhookUrl('http://127.0.0.1:8080/hook', development)).port).toBe('8080');
    await expect(checkWebhookUrl('http://10.1.2.3/hook', development)).rejects.toThrow(/private address/);
    await expect(checkWebhookUrl('http://[64:ff9b::7f00:1]/hook', development)).rejects.toThrow(/NAT64/);
  });
});
