import 'reflect-metadata';

import { jsonLogger, runService } from '@focal/service';

import { MessagingModule } from './messaging.module.js';

/** The messaging service; configuration and shutdown as in libs/service (see the README). */
runService('messaging', MessagingModule, jsonLogger('messaging'));
