export * from './fetch-https.ts';
