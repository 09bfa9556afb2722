import { defineSlice, integer } from '../../config/config-slice';

/** Caps on the paid phone-number lookups (getuserphonenumber), per Beijing day (PhoneLookupBudget). */
export const phoneConfig = defineSlice({
  title: 'Phone number',
  variables: {
    PHONE_LOOKUPS_PER_USER_PER_DAY: integer({
      default: 5,
      min: 0,
      max: 1000,
      description:
        'paid phone-number lookups per person (the WeChat account: openid, and unionid when there is one; ' +
        'not reset by deleting the account) and day (Beijing time); at most half the app budget, rounded up',
    }),
    PHONE_LOOKUPS_PER_APP_PER_DAY: integer({
      default: 10000,
      min: 0,
      max: 100000000,
      description:
        'the same for all users of one app together; the first refusal logs `alert: "PHONE_APP_BUDGET"`',
    }),
  },
  build: (v) => ({
    phone: {
      lookupsPerUserPerDay: v.PHONE_LOOKUPS_PER_USER_PER_DAY,
      lookupsPerAppPerDay: v.PHONE_LOOKUPS_PER_APP_PER_DAY,
    },
  }),
});
