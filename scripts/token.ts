import { parseArgs } from 'node:util';

import { checkCountry, checkUuid, ROLES, type Role } from '@focal/domain';

import { tokenSecret } from '@focal/service';

import { signToken } from '../apps/gateway/src/index.js';

/** `npm run token -- --role member-state --state FR`: a development token, signed with FOCAL_JWT_SECRET. */
const usage =
  `usage: npm run token -- --role ${ROLES.join('|')} ` +
  '[--state FR] [--organisation <uuid>] [--sub <name>] [--expires 8h]';

try {
  const { values } = parseArgs({
    options: {
      role: { type: 'string' },
      state: { type: 'string' },
      organisation: { type: 'string' },
      sub: { type: 'string' },
      expires: { type: 'string', default: '8h' },
    },
  });
  const role = values.role as Role;
  if (!ROLES.includes(role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
  if ((role === 'member-state' || role === 'observer-state' || role === 'guest-state') && !values.state) {
    // An example of the role's own kind: a guest-state token for a member state is refused.
    const example = role === 'member-state' ? 'FR' : role === 'observer-state' ? 'NO' : 'GM';
    throw new Error(`a ${role} token names its state: add --state ${example}`);
  }
  if (role === 'liaison-organisation' && !values.organisation) {
    throw new Error('a liaison-organisation token names its organisation: add --organisation <uuid>');
  }
  // A token the gateway would refuse is no use: say so here, as the gateway would.
  const badState = values.state === undefined ? undefined : checkCountry(values.state);
  if (badState) throw new Error(`--state ${badState}`);
  const badOrganisation = values.organisation === undefined ? undefined : checkUuid(values.organisation);
  if (badOrganisation)
    throw new Error(`--organisation ${badOrganisation} (GET /v1/liaison-organisations lists their ids)`);
  let secret: string;
  try {
    secret = tokenSecret();
  } catch (error) {
    // The arguments were fine: what is missing is the secret, and the usage would not help.
    console.error((error as Error).message);
    process.exit(1);
  }
  const token = await signToken(
    secret,
    {
      sub: values.sub ?? `${role}${values.state ? `-${values.state}` : ''}-dev`,
      role,
      ...(values.state ? { state: values.state } : {}),
      ...(values.organisation ? { organisation: values.organisation } : {}),
    },
    values.expires,
  );
  console.log(token);
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}
