import {
  Body,
  Param,
  ParseUUIDPipe,
  Query,
  ValidationPipe,
  type PipeTransform,
  type Type,
} from '@nestjs/common';

import { Problem, validationProblem } from './problem.js';

/**
 * Parameter decorators that name their DTO class: validation must not depend on decorator metadata, which
 * tsx and esbuild do not emit (tsconfig leaves it off, so the tests run as `npm start` does).
 */
const pipe = (expectedType: Type) =>
  new ValidationPipe({
    expectedType,
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: validationProblem,
  });

/** A body that is JSON but not an object (an array, a string, a number) has no fields to name: refused whole. */
const objectBody: PipeTransform = {
  transform(value: unknown) {
    // No body at all is an empty one: the DTO names the fields it requires.
    if (value === undefined || value === null || (typeof value === 'object' && !Array.isArray(value)))
      return value;
    throw new Problem(
      400,
      'invalid-input',
      'Invalid input',
      'body: send a JSON object with the fields named at /docs',
      {
        body: 'must be a JSON object',
      },
    );
  },
};

/** The request body, validated as `dto`: unknown fields refused, types transformed. */
export const ValidBody = (dto: Type) => Body(objectBody, pipe(dto));

/** The query string, validated as `dto`. */
export const ValidQuery = (dto: Type) => Query(pipe(dto));

/** A path id that must be a UUID: anything else is a 400 naming the parameter. */
export const UuidParam = (name: string) =>
  Param(
    name,
    new ParseUUIDPipe({
      exceptionFactory: () =>
        new Problem(400, 'invalid-id', 'Invalid id', `${name} must be a UUID`, { [name]: 'must be a UUID' }),
    }),
  );
