import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { databaseConfigFromEnv } from './src/config/load-config';
import { buildDataSourceOptions } from './src/database/typeorm-options';

/** The DataSource of the migration CLI (`npm run migration:run|revert|generate`); same options as the app. */
export default new DataSource(buildDataSourceOptions(databaseConfigFromEnv(process.env)));
