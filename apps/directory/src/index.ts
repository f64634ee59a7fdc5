// The directory service's public entry, for the composition root.
export { DirectoryModule } from './directory.module.js';
