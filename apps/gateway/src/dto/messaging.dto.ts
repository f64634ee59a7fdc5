import { CONFIDENTIALITY, HANDLING_CODES, SUBJECT_KINDS, THREAD_VISIBILITIES } from '@focal/domain';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

export class RequestMeetingDto {
  @ApiProperty({ enum: SUBJECT_KINDS })
  @IsIn(SUBJECT_KINDS)
  subjectKind!: (typeof SUBJECT_KINDS)[number];

  @ApiProperty({ type: String, example: 'Joint investigation on crimes committed in the region' })
  @IsString()
  title!: string;

  @ApiProperty({ type: String })
  @IsString()
  summary!: string;

  @ApiProperty({ enum: CONFIDENTIALITY })
  @IsIn(CONFIDENTIALITY)
  confidentiality!: (typeof CONFIDENTIALITY)[number];

  @ApiProperty({ type: [String], example: ['2031-03-02'], description: 'dates in the future, YYYY-MM-DD' })
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  proposedDates!: string[];

  @ApiPropertyOptional({ type: [String], example: ['DE'], default: [] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(60)
  @IsString({ each: true })
  invitedStates: string[] = [];

  @ApiPropertyOptional({ type: [String], default: [] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(60)
  @IsString({ each: true })
  invitedOrganisations: string[] = [];
}

export class AcceptMeetingDto {
  @ApiProperty({ type: String, example: '2031-03-02T10:00:00Z' })
  @IsString()
  scheduledFor!: string;

  @ApiProperty({ type: String, example: 'Eurojust, The Hague' })
  @IsString()
  venue!: string;
}

export class ConcludeMeetingDto {
  @ApiProperty({ type: String })
  @IsString()
  conclusions!: string;
}

export class MeetingStatusQueryDto {
  @ApiPropertyOptional({ enum: ['requested', 'accepted', 'declined', 'withdrawn', 'cancelled', 'concluded'] })
  @IsOptional()
  @IsIn(['requested', 'accepted', 'declined', 'withdrawn', 'cancelled', 'concluded'])
  status?: string;
}

export class OpenThreadDto {
  @ApiProperty({ type: String, example: 'Request for witness contact' })
  @IsString()
  subject!: string;

  @ApiProperty({ enum: THREAD_VISIBILITIES })
  @IsIn(THREAD_VISIBILITIES)
  visibility!: (typeof THREAD_VISIBILITIES)[number];

  @ApiProperty({
    type: [String],
    example: ['secretariat', 'state:DE'],
    description: 'secretariat, state:<ISO>, organisation:<id>',
  })
  @IsArray()
  @ArrayMaxSize(100)
  @Matches(/^(secretariat|state:.+|organisation:.+)$/, {
    each: true,
    message: 'each participant is secretariat, state:<ISO code> or organisation:<id>',
  })
  participants!: ('secretariat' | `state:${string}` | `organisation:${string}`)[];

  @ApiPropertyOptional({
    type: String,
    example: '2031-01-01T12:00:00Z',
    description: 'makes the thread urgent',
  })
  @IsOptional()
  @IsString()
  replyBy?: string;
}

export class AttachmentDto {
  @ApiProperty({ type: String, example: 'schedule.pdf' })
  @IsString()
  @MaxLength(300)
  name!: string;

  @ApiProperty({ type: String, example: 'a'.repeat(64) })
  @Matches(/^[0-9a-f]{64}$/, { message: 'sha256 must be 64 lower-case hex digits' })
  sha256!: string;

  @ApiProperty({ type: Number, example: 1024 })
  @IsInt()
  @Min(0)
  size!: number;
}

export class PostMessageDto {
  @ApiProperty({ type: String })
  @IsString()
  @MaxLength(100_000)
  body!: string;

  @ApiProperty({ enum: HANDLING_CODES })
  @IsIn(HANDLING_CODES)
  handlingCode!: (typeof HANDLING_CODES)[number];

  @ApiPropertyOptional({ type: String, description: 'for H3: the other restrictions' })
  @IsOptional()
  @IsString()
  handlingNote?: string;

  @ApiPropertyOptional({ type: [AttachmentDto], default: [] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => AttachmentDto)
  attachments: AttachmentDto[] = [];
}
