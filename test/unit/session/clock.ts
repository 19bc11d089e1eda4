import { ManualClock as Base } from '../../helpers/clock.js';

/** Session unit tests start every clock at one fixed instant, so their expectations are exact. */
export class ManualClock extends Base {
  constructor(start: number = Date.UTC(2030, 0, 1, 12, 0, 0)) {
    super(start);
  }
}
