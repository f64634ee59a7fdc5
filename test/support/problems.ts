import net from 'node:net';

/** An answer as the bad-input tests look at it: the body parsed when it is JSON, else its text. */
export interface Answer {
  status: number;
  headers: Headers;
  // Problems are asserted on field by field.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** A request exactly as given: any bytes as the body, any content type or none, a bound on the wait. */
export async function send(
  url: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Uint8Array; timeoutMs?: number } = {},
): Promise<Answer> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: options.headers ?? {},
    ...(options.body !== undefined ? { body: options.body } : {}),
    signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
  });
  return readAnswer(response);
}

/** A response read whole: its body parsed when it is JSON, else kept as text. */
export async function readAnswer(response: Response): Promise<Answer> {
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: parsed(text) };
}

function parsed(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

/**
 * Bytes written to the gateway's socket as they are, for what fetch refuses to send (a control character or
 * an empty value in a header): the answer's status, headers and body. A stream (SSE) is closed once its
 * headers are in.
 */
export function sendRaw(url: string, request: string | Buffer, timeoutMs = 15_000): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () =>
      socket.write(typeof request === 'string' ? Buffer.from(request, 'latin1') : request),
    );
    let received = Buffer.alloc(0);
    let answered = false;
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const finish = (error?: Error) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) return reject(error);
      const split = received.indexOf('\r\n\r\n');
      const head = received.subarray(0, split < 0 ? received.length : split).toString('latin1');
      const text = split < 0 ? '' : received.subarray(split + 4).toString('utf8');
      const headers = new Headers();
      for (const line of head.split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers, body: parsed(text) });
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const split = received.indexOf('\r\n\r\n');
      if (split < 0) return;
      const head = received.subarray(0, split).toString('latin1');
      const length = /^content-length: *(\d+)$/im.exec(head)?.[1];
      if (/^content-type: *text\/event-stream/im.test(head)) finish();
      else if (length !== undefined && received.length - split - 4 >= Number(length)) finish();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => finish());
  });
}

/** A request as HTTP/1.1 bytes, headers as given (latin1), for sendRaw. */
export function rawRequest(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Uint8Array,
): Buffer {
  const bytes =
    body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
  const lines = [
    `${method} ${path} HTTP/1.1`,
    `Host: ${new URL(url).host}`,
    'Connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ...(bytes ? [`Content-Length: ${bytes.length}`] : []),
  ];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), bytes ?? Buffer.alloc(0)]);
}

const CLASS_NAMES = /Exception|FastifyError|FST_ERR|TypeError|RangeError|SyntaxError|Error:/;

/**
 * What is wrong with an error answer, as SPEC §4 wants every one: `application/problem+json`, Focal's type
 * with its reason, the status, a detail, and no class name of a framework; undefined when nothing is.
 */
export function problemFault(answer: Answer): string | undefined {
  const contentType = answer.headers.get('content-type') ?? '';
  if (!contentType.startsWith('application/problem+json')) return `content type ${contentType || 'none'}`;
  const problem = answer.body as Record<string, unknown> | undefined;
  if (typeof problem !== 'object' || problem === null) return 'a body that is not a JSON object';
  if (typeof problem.reason !== 'string' || !problem.reason) return 'no reason';
  if (problem.type !== `urn:focal:problem:${problem.reason}`) return `type ${String(problem.type)}`;
  if (problem.status !== answer.status) return `status ${String(problem.status)} in the body`;
  if (typeof problem.detail !== 'string' || !problem.detail) return 'no detail';
  for (const field of ['type', 'title', 'detail'] as const) {
    if (CLASS_NAMES.test(String(problem[field])))
      return `a class name in ${field}: ${String(problem[field])}`;
  }
  return undefined;
}
