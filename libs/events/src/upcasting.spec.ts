import type { RecordedEvent } from './envelope.js';
import { UpcastError } from './errors.js';
import { EventSchemas } from './upcasting.js';

const recorded = (schemaVersion: number, data: RecordedEvent['data']) =>
  ({ type: 'ContactPointRegistered', schemaVersion, data }) as RecordedEvent;

describe('EventSchemas', () => {
  const schemas = new EventSchemas([
    { type: 'ContactPointRegistered', fromSchemaVersion: 2, upcast: (data) => ({ ...data, v3: true }) },
    { type: 'ContactPointRegistered', fromSchemaVersion: 1, upcast: (data) => ({ ...data, v2: true }) },
  ]);

  it('knows each type’s current version, 1 for types without upcasters', () => {
    expect(schemas.currentVersion('ContactPointRegistered')).toBe(3);
    expect(schemas.currentVersion('StateAdmitted')).toBe(1);
  });

  it('lifts old events through the whole chain, in order, and leaves current ones alone', () => {
    expect(schemas.upcast(recorded(1, { a: 1 }))).toMatchObject({
      schemaVersion: 3,
      data: { a: 1, v2: true, v3: true },
    });
    expect(schemas.upcast(recorded(2, { a: 1 }))).toMatchObject({
      schemaVersion: 3,
      data: { a: 1, v3: true },
    });
    const current = recorded(3, { a: 1 });
    expect(schemas.upcast(current)).toBe(current);
  });

  it('refuses a chain with a hole, a duplicate, or a version below 1', () => {
    const upcast = (data: RecordedEvent['data']) => data;
    expect(() => new EventSchemas([{ type: 'X', fromSchemaVersion: 2, upcast }])).toThrow(
      /X has upcasters up to schema version 2 but none from 1/,
    );
    expect(
      () =>
        new EventSchemas([
          { type: 'X', fromSchemaVersion: 1, upcast },
          { type: 'X', fromSchemaVersion: 1, upcast },
        ]),
    ).toThrow(UpcastError);
    expect(() => new EventSchemas([{ type: 'X', fromSchemaVersion: 0, upcast }])).toThrow(
      /versions start at 1/,
    );
  });
});
