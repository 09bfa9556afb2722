import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type Counter as CounterType,
} from 'prom-client';
import { type HistogramSeries, RouteHistogram } from './route-histogram';

/**
 * The one place that knows prom-client: features call these methods, never the library. Every label value
 * is bounded here — appids only from the configuration ("unknown" for anything else), route templates
 * (never raw URLs), error codes from a closed list, errcodes from the ones an endpoint declares ("other"
 * otherwise) — so no openid, user id or free text can reach a series, and a flood of odd requests cannot
 * grow the scrape.
 *
 * One registry per application (not prom-client's global one): tests run several apps in one process.
 */

export type RefreshOutcome = 'rotated' | 'reuse_interval' | 'reused' | 'invalid' | 'user_disabled' | 'error';
export const REFRESH_OUTCOMES: readonly RefreshOutcome[] = [
  'rotated',
  'reuse_interval',
  'reused',
  'invalid',
  'user_disabled',
  'error',
];
/** The door a login came through: users/identity-kind.ts's IdentityKind (a closed list), repeated to keep this room low. */
export type LoginKind = 'miniprogram' | 'oa' | 'web' | 'app';
/** What an interface-token fetch was for: none usable cached (the first fetch too), WeChat refused it, force_refresh. */
export type InterfaceTokenReason = 'expired' | 'rejected' | 'forced';
/** Daily capped WeChat calls (`wechat_quota_used`): phone-number lookups of an app, force_refresh uses. */
export type QuotaKind = 'phone_lookup' | 'force_refresh';
export const QUOTA_KINDS: readonly QuotaKind[] = ['phone_lookup', 'force_refresh'];
export type PoolState = 'in_use' | 'idle' | 'waiting';

/** What the scrape reads from features that keep state (pulled at scrape time, never pushed per request). */
export interface MetricSources {
  /** The shared store answers (cached state: no round trip per scrape); undefined: not known yet. */
  storeUp?: () => boolean;
  /** Seconds since the revocation replica was last known complete (0 while its feed is live). */
  replicaAgeSeconds?: () => number;
  /** Connections of the database pool (MySQL/MariaDB only). */
  pool?: () => Record<PoolState, number>;
}

export const UNKNOWN_APPID = 'unknown';
/** The route label of requests no route matched (404s, probes for random paths). */
export const UNMATCHED_ROUTE = 'unmatched';
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The method label: the common seven, any other method Node accepts (PROPFIND, MKCOL…) is OTHER. */
export function methodLabel(method: string): string {
  return HTTP_METHODS.has(method) ? method : 'OTHER';
}

const STATUS_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** A route's duration series, one slot per status class, each created on first use (no empty series). */
export interface RouteSeries {
  readonly route: string;
  readonly method: string;
  readonly byClass: Array<HistogramSeries | undefined>;
}

interface QuotaReading {
  used: number;
  /** Epoch ms when the quota's period ends: the reading is 0 from then on. */
  resetsAt: number;
}

export interface MetricsOptions {
  /** The configured appids: the only values the appid label takes. */
  appids: readonly string[];
  /** Node's process metrics (event loop, heap, GC…): only when the metrics are served. */
  defaultMetrics: boolean;
  /** Each capped call's daily limit per app (PHONE_LOOKUPS_PER_APP_PER_DAY, WECHAT_FORCE_REFRESH_DAILY_BUDGET). */
  quotaLimits?: Readonly<Record<QuotaKind, number>>;
  now?: () => number;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly appids: ReadonlySet<string>;
  private readonly now: () => number;
  private readonly quotaLimits: Readonly<Record<QuotaKind, number>>;
  private sources: MetricSources = {};
  private readonly quota = new Map<string, QuotaReading>();

  private readonly httpDuration: RouteHistogram;
  private readonly logins: Counter<'appid' | 'kind' | 'outcome'>;
  private readonly refreshes: Counter<'outcome'>;
  private readonly refreshChildren = new Map<RefreshOutcome, CounterType.Internal>();
  private readonly revocations: Counter<'reason'>;
  private readonly upstreamRequests: Counter<'endpoint' | 'outcome' | 'errcode'>;
  private readonly upstreamDuration: Histogram<'endpoint'>;
  private readonly breakerOpen: Gauge<'appid' | 'endpoint'>;
  private readonly tokenRefreshes: Counter<'appid' | 'reason'>;
  private readonly poolWait: Histogram;

  constructor(opts: MetricsOptions) {
    this.appids = new Set(opts.appids);
    this.now = opts.now ?? Date.now;
    this.quotaLimits = opts.quotaLimits ?? { phone_lookup: 0, force_refresh: 0 };
    const registers = [this.registry];
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client calls collect() with the metric as `this`
    const self = this;
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Counter<L>({ name, help, labelNames, registers });

    this.httpDuration = new RouteHistogram(
      'http_server_request_duration_seconds',
      'Time to answer an HTTP request, by route template, method and status class',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      this.registry,
    );
    this.logins = counter(
      'auth_logins_total',
      'Logins by app, door (kind: miniprogram, oa, web, app) and outcome (success or the error code)',
      ['appid', 'kind', 'outcome'],
    );
    this.refreshes = counter(
      'auth_refresh_total',
      'Refresh-token presentations by outcome (rotated, reuse_interval, reused, invalid, user_disabled, error)',
      ['outcome'],
    );
    for (const outcome of REFRESH_OUTCOMES) {
      this.refreshes.inc({ outcome }, 0);
      this.refreshChildren.set(outcome, this.refreshes.labels(outcome));
    }
    this.revocations = counter(
      'auth_revocations_total',
      'Sessions ended (refresh tokens and access tokens revoked), by reason',
      ['reason'],
    );
    this.upstreamRequests = counter(
      'wechat_upstream_requests_total',
      'HTTP attempts to WeChat by endpoint, outcome (ok, errcode, network, timeout, http, unparsable) and errcode',
      ['endpoint', 'outcome', 'errcode'],
    );
    this.upstreamDuration = new Histogram({
      name: 'wechat_upstream_duration_seconds',
      help: 'Duration of one HTTP attempt to WeChat, by endpoint',
      labelNames: ['endpoint'],
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers,
    });
    this.breakerOpen = new Gauge({
      name: 'wechat_breaker_open',
      help: 'Whether the circuit breaker of an (app, WeChat endpoint) is open or half-open (1) or closed (0)',
      labelNames: ['appid', 'endpoint'],
      registers,
    });
    this.tokenRefreshes = counter(
      'wechat_interface_token_refreshes_total',
      'Interface access_token fetches from WeChat (the first included), by app and reason',
      ['appid', 'reason'],
    );
    const quotaGauge = (name: string, field: 'used' | 'limit', help: string) =>
      new Gauge({
        name,
        help,
        labelNames: ['appid', 'kind'],
        registers,
        collect() {
          self.collectQuota(this, field);
        },
      });
    quotaGauge(
      'wechat_quota_used',
      'used',
      "Today's use of a daily capped WeChat call (Beijing day), by app and kind, as this instance last saw it",
    );
    quotaGauge(
      'wechat_quota_limit',
      'limit',
      'The daily cap of a capped WeChat call per app, by app and kind',
    );
    new Gauge({
      name: 'db_pool_connections',
      help: 'Database pool connections by state (in_use, idle, waiting requests); MySQL/MariaDB only',
      labelNames: ['state'],
      registers,
      collect() {
        const pool = self.sources.pool?.();
        if (!pool) return;
        for (const [state, n] of Object.entries(pool)) this.set({ state }, n);
      },
    });
    this.poolWait = new Histogram({
      name: 'db_pool_wait_seconds',
      help: 'Time a database call waited for a pooled connection (MySQL/MariaDB only)',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers,
    });
    new Gauge({
      name: 'store_up',
      help: 'Whether the shared store answers (1) or not (0); the in-process store is always up',
      registers,
      collect() {
        const up = self.sources.storeUp?.();
        if (up !== undefined) this.set(up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'revocation_replica_age_seconds',
      help: "Seconds since this instance's revocation replica was last known complete (0 while its feed is live)",
      registers,
      collect() {
        const age = self.sources.replicaAgeSeconds?.();
        // Never complete since start: +Inf, which Prometheus understands and every "> x" alert catches.
        if (age !== undefined) this.set(age);
      },
    });
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Features that keep state register how to read it; the scrape reads it. */
  addSources(sources: MetricSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** The Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  // --- HTTP -----------------------------------------------------------------------------------------

  /** The series of one route template (fixed at registration) and method: looked up once, not per request. */
  routeSeries(route: string, method: string): RouteSeries {
    return {
      route,
      method: methodLabel(method),
      byClass: new Array<HistogramSeries | undefined>(STATUS_CLASSES.length),
    };
  }

  /** One answer on a route: `statusCode`'s class picks the series, made on its first use (no empty series). */
  observeRoute(series: RouteSeries, statusCode: number, seconds: number): void {
    const cls = statusCode >= 100 && statusCode < 600 ? (statusCode / 100) | 0 : 0;
    let s = series.byClass[cls];
    if (s === undefined)
      s = series.byClass[cls] = this.httpDuration.create({
        route: series.route,
        method: series.method,
        status_class: STATUS_CLASSES[cls],
      });
    this.httpDuration.observe(s, seconds);
  }

  // --- Sessions -------------------------------------------------------------------------------------

  /**
   * A login through one of WeChat's doors (`kind`). `outcome`: `success`, or the stable error code it answered
   * with (ErrorCode, a closed list), `error` for anything unexpected.
   */
  login(appid: string | undefined, kind: LoginKind, outcome: string): void {
    this.logins.inc({ appid: this.appid(appid), kind, outcome });
  }

  refresh(outcome: RefreshOutcome): void {
    this.refreshChildren.get(outcome)?.inc();
  }

  /** `reason`: SessionService's EndReason (a closed list in code). */
  revocation(reason: string): void {
    this.revocations.inc({ reason });
  }

  // --- WeChat ---------------------------------------------------------------------------------------

  /**
   * One HTTP attempt. `errcode`: WeChat's, with `known` telling whether the endpoint declares a meaning for
   * it (its label is then the number, else "other"); none for an attempt without an errcode.
   */
  upstream(
    endpoint: string,
    outcome: string,
    errcode: number | undefined,
    known: boolean,
    seconds: number,
  ): void {
    const code = errcode === undefined ? 'none' : known ? String(errcode) : 'other';
    this.upstreamRequests.inc({ endpoint, outcome, errcode: code });
    this.upstreamDuration.observe({ endpoint }, seconds);
  }

  breaker(appid: string, endpoint: string, open: boolean): void {
    this.breakerOpen.set({ appid: this.appid(appid), endpoint }, open ? 1 : 0);
  }

  interfaceTokenFetch(appid: string, reason: InterfaceTokenReason): void {
    this.tokenRefreshes.inc({ appid: this.appid(appid), reason });
  }

  /** The shared count of a daily quota as a take just saw it; reads 0 once `resetsAt` has passed. */
  quotaUsed(appid: string, kind: QuotaKind, used: number, resetsAt: number): void {
    // A refused take stays counted in the store (Quota.take): what was used is at most the cap.
    const limit = this.quotaLimits[kind];
    this.quota.set(`${this.appid(appid)}\n${kind}`, { used: Math.min(used, limit), resetsAt });
  }

  // --- Database -------------------------------------------------------------------------------------

  poolWaited(seconds: number): void {
    this.poolWait.observe(seconds);
  }

  private appid(appid: string | undefined): string {
    return appid !== undefined && this.appids.has(appid) ? appid : UNKNOWN_APPID;
  }

  private collectQuota(gauge: Gauge<'appid' | 'kind'>, field: 'used' | 'limit'): void {
    const now = this.now();
    // Every configured app and kind, 0 until seen: "near its cap" alerts need the series to exist.
    for (const appid of this.appids)
      for (const kind of QUOTA_KINDS) {
        const reading = this.quota.get(`${appid}\n${kind}`);
        const used = reading && reading.resetsAt > now ? reading.used : 0;
        gauge.set({ appid, kind }, field === 'limit' ? this.quotaLimits[kind] : used);
      }
  }
}

/** For services whose tests build them without the module: counts go nowhere. */
export const NO_METRICS = new Metrics({ appids: [], defaultMetrics: false });
