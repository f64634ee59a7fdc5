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

import type { Authenticator, Identity } from './authenticator.js';

/** The Authenticator, provided by the composition (gateway-app.ts). */
export const AUTHENTICATOR = Symbol('Authenticator');

/** A request once authenticated: its caller, and when the token it came with expires. */
export type GatewayRequest = FastifyRequest & { actor?: Actor; expiresAt?: Date };

const PUBLIC = Symbol('public');
/** Routes anyone may call: health, docs. */
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
    const { actor, expiresAt } = await identityOf(request, this.authenticator);
    request.actor = await this.authenticator.admit(actor);
    request.expiresAt = expiresAt;
    return true;
  }
}

const identities = new WeakMap<FastifyRequest, Promise<Identity>>();

/**
 * Who a request's token names (not yet whether it stands), verified once per request: the rate limits key on
 * it before any route runs, and the AuthGuard takes it from there.
 */
export function identityOf(request: FastifyRequest, authenticator: Authenticator): Promise<Identity> {
  let identity = identities.get(request);
  if (!identity) {
    identity = authenticator.identity(request.headers.authorization);
    // Whoever asks gets the refusal; asked early (by the rate limits) and never again, it is no unhandled one.
    identity.catch(() => undefined);
    identities.set(request, identity);
  }
  return identity;
}
