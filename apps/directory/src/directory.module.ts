import { Controller, Module } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';

/** Answers health checks over NATS; the directory commands arrive with the domain (see the README). */
@Controller()
export class DirectoryHealthController {
  @MessagePattern('focal.directory.health')
  health(): { service: string; status: 'ok' } {
    return { service: 'directory', status: 'ok' };
  }
}

@Module({ controllers: [DirectoryHealthController] })
export class DirectoryModule {}
