import { applyDecorators, Controller } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Access } from '../../common/auth/access.decorator';

/**
 * A controller of the sandbox, mounted at `path`: public (it plays WeChat and the mini program, which hold no
 * token of ours) and left out of the OpenAPI document (not part of the partner contract).
 */
export const SandboxController = (path: string): ClassDecorator =>
  applyDecorators(ApiExcludeController(), Access({ public: true }), Controller(path));
