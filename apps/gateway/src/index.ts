// The gateway's public entry: what the composition root, the scripts and the benches may use.
export { signToken } from './auth/authenticator.js';
export { gatewayOpenApiDocument, startGateway, type RunningGateway } from './gateway-app.js';
export { GATEWAY_DEFAULTS, loadGatewayConfig, type GatewayConfig } from './gateway.config.js';
export { rebuildReadModels, type RebuildReport } from './read-models/rebuild.js';
