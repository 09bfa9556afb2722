import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, ValidateBy, type ValidationOptions } from 'class-validator';
import {
  AVATAR_URL_MAX_LENGTH,
  avatarUrlProblem,
  NICKNAME_MAX_CODE_POINTS,
  nicknameProblem,
  normalizeNickname,
} from '../profile-rules';

/** A class-validator rule from one of profile-rules' `…Problem` functions, with its message. */
function Satisfies(name: string, problem: (value: unknown) => string | null, options?: ValidationOptions) {
  return ValidateBy(
    {
      name,
      validator: {
        validate: (value: unknown) => problem(value) === null,
        defaultMessage: (args) => problem(args?.value) ?? `${name} failed`,
      },
    },
    options,
  );
}

/** PATCH /users/me. The rules are in profile-rules.ts; `null` clears a field, an absent one is kept. */
export class UpdateProfileRequest {
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    minLength: 1,
    maxLength: NICKNAME_MAX_CODE_POINTS,
    example: '小程序用户👍🏽',
    description:
      `1–${NICKNAME_MAX_CODE_POINTS} characters counted in Unicode code points (👍🏽 counts 2). Leading and ` +
      'trailing spaces are trimmed; control characters, U+2028/U+2029 and bidi controls are refused. `null` clears it.',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => normalizeNickname(value))
  @Satisfies('isNickname', nicknameProblem)
  nickname?: string | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    format: 'uri',
    maxLength: AVATAR_URL_MAX_LENGTH,
    example: 'https://cdn.example.com/avatars/u1.png',
    description:
      `An absolute https URL, at most ${AVATAR_URL_MAX_LENGTH} printable ASCII characters, without credentials, ` +
      'quotes, angle brackets or other characters a URL does not allow (percent-encode them). The host must be ' +
      'public: not `localhost` or `*.localhost`, not an internal name (`.local`, `.internal`, a single label), and ' +
      'not a loopback, private, CGNAT, link-local, unspecified or ULA address in any spelling (decimal, hex, ' +
      "IPv4-mapped IPv6). WeChat's own avatar URLs (`https://thirdwx.qlogo.cn/mmopen/...`) qualify. Refused with " +
      '400 VALIDATION_FAILED naming the rule in `details`. `null` clears it.',
  })
  @IsOptional()
  @Satisfies('isAvatarUrl', avatarUrlProblem)
  avatarUrl?: string | null;
}
