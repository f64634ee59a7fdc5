import { ConfigError } from '@focal/service';

import { loadGatewayConfig } from '../gateway.config.js';
import { loadAbuseLimits } from './abuse.js';

describe('abuse limits settings', () => {
  it('600 writes and 30 stream openings a minute by default; 0 turns one off', () => {
    expect(loadAbuseLimits({}, [])).toEqual({ writesPerMinute: 600, streamOpensPerMinute: 30 });
    expect(
      loadAbuseLimits(
        { FOCAL_RATE_LIMIT_WRITES_PER_MINUTE: '0', FOCAL_RATE_LIMIT_STREAMS_PER_MINUTE: '5' },
        [],
      ),
    ).toEqual({ writesPerMinute: 0, streamOpensPerMinute: 5 });
  });

  it('are checked with the rest of the configuration', () => {
    expect(() =>
      loadGatewayConfig({
        FOCAL_RATE_LIMIT_WRITES_PER_MINUTE: 'lots',
        FOCAL_RATE_LIMIT_STREAMS_PER_MINUTE: '-1',
      }),
    ).toThrow(ConfigError);
    const problems: string[] = [];
    loadAbuseLimits({ FOCAL_RATE_LIMIT_WRITES_PER_MINUTE: 'lots' }, problems);
    expect(problems).toEqual([
      'FOCAL_RATE_LIMIT_WRITES_PER_MINUTE=lots must be a whole number of requests a minute (0 for no limit)',
    ]);
  });
});
