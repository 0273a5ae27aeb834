import { init, productViewed, flush } from '@shopstream/sdk';
import { expose, product, COLLECTOR } from '../common.js';

const tInitStart = performance.now();
const ready = init({ endpoint: COLLECTOR + '/v1/events', autoPageViews: false }); // other options default: flushAt 20, flushIntervalMs 1000
const tInitEnd = performance.now();
productViewed(product(0));
expose('shopstream', { tInitStart, tInitEnd, ready, track: (i) => productViewed(product(i)), flush });
