import 'reflect-metadata';

import { jsonLogger, runService } from '@focal/service';

import { DirectoryModule } from './directory.module.js';

/** The directory service; configuration and shutdown as in libs/service (see the README). */
runService('directory', DirectoryModule, jsonLogger('directory'));
