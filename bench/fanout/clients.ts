/**
 * The subscribers of bench:fanout, in a process of their own so that the gateway's memory and CPU are its own:
 * opens N Server-Sent Events streams, records for each event how long after its append it arrived, and
 * reports the latencies to the parent.
 */
import http from 'node:http';

const url = process.env.FANOUT_URL!;
/** One connection per subscriber, as separate clients would have. */
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const token = process.env.FANOUT_TOKEN!;
const subscribers = Number(process.env.FANOUT_SUBSCRIBERS);
const expected = Number(process.env.FANOUT_EVENTS);

const latencies: number[] = [];
let complete = 0;
/** The subscribers' own CPU from the first event on: they share the machine's cores with the gateway. */
let cpuAtStart: NodeJS.CpuUsage | undefined;
process.on('message', (message: { start?: boolean }) => {
  if (message.start) cpuAtStart = process.cpuUsage();
});

/**
 * One subscriber over node:http, not fetch: a web stream costs several promises per chunk, and these
 * subscribers share the gateway's two cores (real ones run elsewhere), so the lighter client leaves more of
 * them to what is measured. Frames are parsed as an EventSource would: blocks between blank lines.
 */
function subscriber(): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { authorization: `Bearer ${token}` }, agent }, (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`subscription answered ${response.statusCode}`));
        response.resume();
        return;
      }
      process.send!({ connected: true });
      response.setEncoding('utf8');
      let buffer = '';
      let received = 0;
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let split: number;
        while ((split = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, split);
          buffer = buffer.slice(split + 2);
          const data = block.split('\n').find((line) => line.startsWith('data: '));
          // Events are the unnamed frames, their data a CloudEvent; control frames (`closed`, `overflow`) are named.
          if (!data || block.startsWith('event: ') || block.includes('\nevent: ')) continue;
          const { data: payload } = JSON.parse(data.slice(6)) as { data: { sentAt: number } };
          latencies.push(Date.now() - payload.sentAt);
          if (++received === expected) {
            if (++complete === subscribers)
              process.send!({ done: true, latencies, cpu: process.cpuUsage(cpuAtStart) });
            response.destroy();
            resolve();
            return;
          }
        }
      });
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

for (let i = 0; i < subscribers; i++) {
  void subscriber().catch((error: unknown) => process.send!({ error: String(error) }));
}
