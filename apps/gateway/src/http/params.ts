import { Body, Param, ParseUUIDPipe, Query, ValidationPipe, type Type } from '@nestjs/common';

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

/** The request body, validated as `dto`: unknown fields refused, types transformed. */
export const ValidBody = (dto: Type) => Body(pipe(dto));

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
