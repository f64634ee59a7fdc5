import { Controller, Module } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';

/** Answers health checks over NATS; the messaging commands arrive with the domain (see the README). */
@Controller()
export class MessagingHealthController {
  @MessagePattern('focal.messaging.health')
  health(): { service: string; status: 'ok' } {
    return { service: 'messaging', status: 'ok' };
  }
}

@Module({ controllers: [MessagingHealthController] })
export class MessagingModule {}
