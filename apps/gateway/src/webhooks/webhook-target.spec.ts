import { checkWebhookUrl } from './webhook-target.js';

describe('webhook URLs', () => {
  it('takes public http(s) addresses', async () => {
    expect((await checkWebhookUrl('https://93.184.216.34/hook', false)).href).toBe(
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
    ['http://169.254.169.254/latest/meta-data', /private address/],
    ['http://localhost/hook', /loopback address/],
  ])('refuses %s', async (url, message) => {
    await expect(checkWebhookUrl(url, false)).rejects.toThrow(message);
  });

  it('allows loopback targets only with the development flag, and never private ones', async () => {
    expect((await checkWebhookUrl('http://127.0.0.1:8080/hook', true)).port).toBe('8080');
    await expect(checkWebhookUrl('http://10.1.2.3/hook', true)).rejects.toThrow(/private address/);
  });
});
