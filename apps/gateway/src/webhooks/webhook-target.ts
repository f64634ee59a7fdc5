import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

import { Problem } from '../http/problem.js';

/** Loopback, private, link-local and other non-public ranges: no webhook may point inside the network. */
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv6');
}

const invalid = (detail: string) =>
  new Problem(400, 'invalid-webhook-url', 'Invalid webhook URL', detail, { url: detail });

/**
 * Checks a webhook URL: http or https only; its host must resolve to public addresses, unless loopback
 * targets are allowed (a development flag, never honoured in production).
 */
export async function checkWebhookUrl(value: string, allowLoopback: boolean): Promise<URL> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(`${value} is not a URL: give e.g. https://example.org/focal-hook`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalid(`${url.protocol} URLs are not delivered to: use https:// (or http://)`);
  }
  if (url.username || url.password)
    throw invalid('put no credentials in the URL: verify the signature instead');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host)
    ? [{ address: host, family: isIP(host) }]
    : await lookup(host, { all: true }).catch(() => []);
  if (addresses.length === 0) throw invalid(`${url.hostname} does not resolve`);
  for (const resolved of addresses) {
    // An IPv4 address written as IPv6 (::ffff:10.0.0.1) is checked as the IPv4 address it is.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(resolved.address)?.[1];
    const address = mapped ?? resolved.address;
    const isPrivate = PRIVATE.check(address, mapped || resolved.family === 4 ? 'ipv4' : 'ipv6');
    const isLoopback = address === '::1' || address.startsWith('127.');
    if (isPrivate && !(allowLoopback && isLoopback)) {
      throw invalid(
        `${url.hostname} resolves to ${address}, a ${isLoopback ? 'loopback' : 'private'} address: webhooks go to public addresses only`,
      );
    }
  }
  return url;
}
