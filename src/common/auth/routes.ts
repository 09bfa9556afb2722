import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import type { ModulesContainer } from '@nestjs/core';
import { accessOf, type ResolvedAccess } from './access.decorator';

export type OperationMethod = 'get' | 'put' | 'post' | 'delete' | 'options' | 'head' | 'patch';

export interface ControllerRoute {
  /** Upper case, as Nest names it (`GET`, `ALL`…). */
  method: string;
  /** OpenAPI operation keys this route answers (`ALL` is every one of them). */
  operations: OperationMethod[];
  /** Nest's pattern, e.g. `/sessions/:id`. */
  path: string;
  /** OpenAPI's path key, e.g. `/sessions/{id}`. */
  openApiPath: string;
  controller: string;
  handler: string;
  /** The controller class and handler function themselves (what the guard's ExecutionContext gives). */
  cls: object;
  fn: object;
  /** What AccessGuard enforces on it (the same cached resolution). */
  access: ResolvedAccess;
}

const ALL_OPERATIONS: OperationMethod[] = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : [String(v ?? '')]);

/**
 * Every controller route of an app, from Nest's own metadata (what the router is built from), with its
 * resolved access policy: what the OpenAPI document's `security` and the route tests are derived from.
 */
export function controllerRoutes(modules: ModulesContainer): ControllerRoute[] {
  const routes: ControllerRoute[] = [];
  for (const module of modules.values()) {
    for (const wrapper of module.controllers.values()) {
      const cls = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (!cls) continue;
      for (const name of Object.getOwnPropertyNames(cls.prototype)) {
        const handler = (cls.prototype as Record<string, unknown>)[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        const paths = Reflect.getMetadata(PATH_METADATA, handler) as unknown;
        if (method === undefined || paths === undefined) continue;
        const access = accessOf(cls, handler);
        const operations =
          method === RequestMethod.ALL
            ? ALL_OPERATIONS
            : [RequestMethod[method].toLowerCase() as OperationMethod];
        for (const base of list(Reflect.getMetadata(PATH_METADATA, cls)))
          for (const sub of list(paths)) {
            const segments = [base, sub].flatMap((p) => p.split('/')).filter(Boolean);
            routes.push({
              method: RequestMethod[method],
              operations,
              path: `/${segments.join('/')}`,
              // Nest's `:id` is OpenAPI's `{id}`.
              openApiPath: `/${segments.map((s) => s.replace(/^:(.+)$/, '{$1}')).join('/')}`,
              controller: cls.name,
              handler: name,
              cls,
              fn: handler,
              access,
            });
          }
      }
    }
  }
  return routes;
}
