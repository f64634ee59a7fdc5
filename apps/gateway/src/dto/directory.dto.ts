import { CONTACT_POINT_ROLES, ORGANISATION_KINDS, STATE_STATUSES } from '@focal/domain';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
} from 'class-validator';

import { MAX_SEARCH_WORDS, searchWordCount } from '../read-models/contact-point-search.js';

/*
 * Request bodies and queries at the edge: shapes and types only. The domain decides what the values may be
 * (ISO codes, e-mail, dates in the future) and its Invalid answers name the fields the same way.
 */

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_OFFSET = 1_000_000_000;

export class PutStateDto {
  @ApiPropertyOptional({ type: String, example: 'France', description: 'required to admit a state' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiProperty({ enum: STATE_STATUSES })
  @IsIn(STATE_STATUSES)
  status!: (typeof STATE_STATUSES)[number];

  @ApiProperty({ type: String, example: '2002-06-13', description: 'YYYY-MM-DD' })
  @Matches(DATE, { message: 'effectiveFrom must be a date as YYYY-MM-DD' })
  effectiveFrom!: string;
}

export class RegisterContactPointDto {
  @ApiPropertyOptional({ type: String, example: 'FR', description: 'the state, or else `organisation`' })
  @IsOptional()
  @IsString()
  state?: string;

  @ApiPropertyOptional({
    type: String,
    format: 'uuid',
    description: 'the liaison organisation, or else `state`',
  })
  @IsOptional()
  @IsUUID()
  organisation?: string;

  @ApiProperty({ type: String, example: 'Claire Martin' })
  @IsString()
  @MaxLength(200)
  fullName!: string;

  @ApiProperty({ type: String, example: 'claire.martin@justice.gouv.fr' })
  @IsString()
  email!: string;

  @ApiPropertyOptional({ type: String, example: '+33140000000', description: 'E.164' })
  @IsOptional()
  @IsString()
  phone?: string;

  @ApiPropertyOptional({ type: String })
  @IsOptional()
  @IsString()
  @MaxLength(4000)
  notes?: string;

  @ApiProperty({ enum: CONTACT_POINT_ROLES })
  @IsIn(CONTACT_POINT_ROLES)
  role!: (typeof CONTACT_POINT_ROLES)[number];

  @ApiProperty({ type: String, example: 'Parquet national antiterroriste' })
  @IsString()
  authority!: string;

  @ApiProperty({ type: [String], example: ['fr', 'en'], description: 'ISO 639-1 codes' })
  @IsArray()
  @ArrayMaxSize(30)
  @IsString({ each: true })
  languages!: string[];

  @ApiPropertyOptional({ type: [String], example: ['core international crimes'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(30)
  @IsString({ each: true })
  expertise?: string[];

  @ApiPropertyOptional({ type: Boolean, default: false })
  @IsOptional()
  @IsBoolean()
  primary?: boolean;
}

export class ChangeContactPointDto {
  @ApiPropertyOptional({ enum: CONTACT_POINT_ROLES })
  @IsOptional()
  @IsIn(CONTACT_POINT_ROLES)
  role?: (typeof CONTACT_POINT_ROLES)[number];

  @ApiPropertyOptional({ type: String })
  @IsOptional()
  @IsString()
  authority?: string;

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(30)
  @IsString({ each: true })
  languages?: string[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(30)
  @IsString({ each: true })
  expertise?: string[];

  @ApiPropertyOptional({ type: String })
  @IsOptional()
  @IsString()
  fullName?: string;

  @ApiPropertyOptional({ type: String })
  @IsOptional()
  @IsString()
  email?: string;

  @ApiPropertyOptional({ type: String })
  @IsOptional()
  @IsString()
  phone?: string;

  @ApiPropertyOptional({ type: String })
  @IsOptional()
  @IsString()
  notes?: string;
}

export class ReasonDto {
  @ApiProperty({ type: String, example: 'moved to another post' })
  @IsString()
  @MaxLength(2000)
  reason!: string;
}

export class SearchContactPointsDto {
  @ApiPropertyOptional({ type: String, example: 'FR' })
  @IsOptional()
  @Matches(/^[A-Z]{2}$/, { message: 'state must be an ISO 3166-1 alpha-2 code such as FR' })
  state?: string;

  @ApiPropertyOptional({ enum: CONTACT_POINT_ROLES })
  @IsOptional()
  @IsIn(CONTACT_POINT_ROLES)
  role?: string;

  @ApiPropertyOptional({ type: String, example: 'fr' })
  @IsOptional()
  @Matches(/^[a-z]{2}$/, { message: 'language must be an ISO 639-1 code such as fr' })
  language?: string;

  @ApiPropertyOptional({ enum: ['active', 'retired'] })
  @IsOptional()
  @IsIn(['active', 'retired'])
  status?: string;

  @ApiPropertyOptional({
    type: String,
    example: 'martin clai',
    description:
      'words, each found (as a prefix, accents ignored) in the name, authority, role or expertise, and in ' +
      `the e-mail and phone for those who may see them; at most ${MAX_SEARCH_WORDS} words`,
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @Matches(/^(?:[^\0\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])*$/, {
    message: 'q must be text without NUL characters or lone surrogates',
  })
  @ValidateBy({
    name: 'searchWords',
    validator: {
      validate: (value) => typeof value !== 'string' || searchWordCount(value) <= MAX_SEARCH_WORDS,
      defaultMessage: () => `q may hold at most ${MAX_SEARCH_WORDS} words`,
    },
  })
  q?: string;

  @ApiPropertyOptional({ type: Number, default: 50, maximum: 200 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit: number = 50;

  @ApiPropertyOptional({ type: Number, default: 0, maximum: MAX_OFFSET })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  // Past every row there could be, and within what the store's OFFSET takes (a bigint).
  @Max(MAX_OFFSET)
  offset: number = 0;
}

export class RegisterOrganisationDto {
  @ApiProperty({ type: String, example: 'International Criminal Court' })
  @IsString()
  name!: string;

  @ApiProperty({ type: String, example: 'ICC' })
  @IsString()
  acronym!: string;

  @ApiProperty({ enum: ORGANISATION_KINDS })
  @IsIn(ORGANISATION_KINDS)
  kind!: (typeof ORGANISATION_KINDS)[number];
}

export class ChangeOrganisationDto {
  @ApiPropertyOptional({ type: String })
  @IsOptional()
  @IsString()
  name?: string;

  @ApiPropertyOptional({ type: String })
  @IsOptional()
  @IsString()
  acronym?: string;

  @ApiPropertyOptional({ enum: ORGANISATION_KINDS })
  @IsOptional()
  @IsIn(ORGANISATION_KINDS)
  kind?: (typeof ORGANISATION_KINDS)[number];
}
