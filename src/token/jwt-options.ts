import type { JwtModuleOptions } from '@nestjs/jwt';
import type { AppConfig } from '../config/app-config';
import { ACCESS_TOKEN_TYP } from './access-token.service';

/** How TokenModule configures JwtService (also used by the unit tests). */
export function jwtModuleOptions(config: AppConfig): JwtModuleOptions {
  const { secret, issuer, audience } = config.jwt;
  return {
    // A KeyObject, not a string: jsonwebtoken skips re-importing the key on every call.
    secret,
    signOptions: {
      algorithm: 'HS256',
      issuer,
      audience,
      header: { alg: 'HS256', typ: ACCESS_TOKEN_TYP },
    },
    verifyOptions: { algorithms: ['HS256'], issuer, audience },
  };
}
