import { createPartnerApp } from './partner.module';

/** `WECHAT_AUTH_URL=https://auth.example.com WECHAT_AUTH_CLIENT_ID=orders WECHAT_AUTH_CLIENT_SECRET=… npm start` */
async function main(): Promise<void> {
  const env = process.env;
  const app = await createPartnerApp({
    baseUrl: env.WECHAT_AUTH_URL ?? 'http://127.0.0.1:3000',
    issuer: env.WECHAT_AUTH_ISSUER ?? 'wechat-auth',
    audience: env.WECHAT_AUTH_AUDIENCE ?? 'miniprogram',
    clientId: env.WECHAT_AUTH_CLIENT_ID ?? '',
    clientSecret: env.WECHAT_AUTH_CLIENT_SECRET ?? '',
  });
  await app.listen(Number(env.PORT ?? 4000), '127.0.0.1');
}

void main();
