export { startTelltale, type StartOptions, type RunningTelltale } from './server.js';
export { resolveServerConfig, type ServerConfig, type ServerOptions } from './config.js';
export { ensureDemoApp, type DemoApp } from './demo-app.js';
export { main } from './main.js';
export { COMMANDS, type Command, type CommandIO } from './commands/index.js';
