import { defineSlice, integer } from '../../config/config-slice';

export const openDataConfig = defineSlice({
  title: 'Open data',
  variables: {
    OPEN_DATA_MAX_AGE_S: integer({
      default: 900,
      min: 30,
      max: 604800,
      unit: 'seconds',
      description:
        'decrypted open data whose watermark is older than this (or more than 60 s in the future) is refused',
    }),
  },
  build: (v) => ({ openData: { maxAgeSeconds: v.OPEN_DATA_MAX_AGE_S } }),
});
