import { defineSlice, integer } from '../config/config-slice';

export const auditConfig = defineSlice({
  title: 'Audit trail',
  variables: {
    AUDIT_RETENTION_DAYS: integer({
      default: 180,
      min: 1,
      max: 3650,
      unit: 'days',
      description: 'audit rows older than this are purged (at start and every 6 h, on every instance)',
    }),
  },
  build: (v) => ({ audit: { retentionDays: v.AUDIT_RETENTION_DAYS } }),
});
