import type { Actor } from '@focal/domain';
import {
  createParamDecorator,
  Inject,
  Injectable,
  SetMetadata,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';

import type { Authenticator } from './authenticator.js';

/** The Authenticator, provided by the composition (gateway-app.ts). */
export const AUTHENTICATOR = Symbol('Authenticator');

export type GatewayRequest = FastifyRequest & { actor?: Actor };

const PUBLIC = Symbol('public');
/** Routes anyone may call: health, metrics, docs. */
export const Public = () => SetMetadata(PUBLIC, true);

/** The authenticated caller, set by the AuthGuard. */
export const Caller = createParamDecorator((_data: unknown, context: ExecutionContext): Actor => {
  return context.switchToHttp().getRequest<GatewayRequest>().actor!;
});

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, [context.getHandler(), context.getClass()]))
      return true;
    const request = context.switchToHttp().getRequest<GatewayRequest>();
    request.actor = await this.authenticator.admit(await identityOf(request, this.authenticator));
    return true;
  }
}

const identities = new WeakMap<FastifyRequest, Promise<Actor>>();

/**
 * Who a request's token names (not yet whether it stands), verified once per request: the rate limits key on
 * it before any route runs, and the AuthGuard takes it from there.
 */
export function identityOf(request: FastifyRequest, authenticator: Authenticator): Promise<Actor> {
  let identity = identities.get(request);
  if (!identity) {
    identity = authenticator.identify(request.headers.authorization);
    // Whoever asks gets the refusal; asked early (by the rate limits) and never again, it is no unhandled one.
    identity.catch(() => undefined);
    identities.set(request, identity);
  }
  return identity;
}
