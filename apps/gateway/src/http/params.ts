import { Param, ParseUUIDPipe } from '@nestjs/common';

import { Problem } from './problem.js';

/** A path id that must be a UUID: anything else is a 400 naming the parameter. */
export const UuidParam = (name: string) =>
  Param(
    name,
    new ParseUUIDPipe({
      exceptionFactory: () =>
        new Problem(400, 'invalid-id', 'Invalid id', `${name} must be a UUID`, { [name]: 'must be a UUID' }),
    }),
  );
