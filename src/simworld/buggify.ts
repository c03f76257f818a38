// Seeded fault points in the code under test (FoundationDB's BUGGIFY): a site is enabled
// for a whole run with some probability, and an enabled site then fires with some
// probability, so rare paths run often in simulation. Outside the simulator it never fires.
import type { Random } from '../env/index.ts';

/** How often sites are enabled per run, and how often an enabled site fires. */
export interface BuggifyOptions {
  readonly siteEnabledProbability: number;
  readonly fireProbability: number;
}

export const BUGGIFY_DEFAULTS: BuggifyOptions = { siteEnabledProbability: 0.25, fireProbability: 0.25 };

/** The most distinct sites one run may name: a guard against sites built from data. */
export const BUGGIFY_SITES_MAX = 10_000;

/**
 * Decides, per named site, whether a rare path is taken. Each site draws from its own
 * generator forked from the run's, so adding a site elsewhere never shifts another's draws.
 */
export class Buggify {
  private readonly sites = new Map<string, Random | null>();

  private constructor(
    private readonly random: Random | undefined,
    private readonly options: BuggifyOptions,
  ) {}

  /** A Buggify that never fires (production, and simulations that turn it off). */
  static off(): Buggify {
    return new Buggify(undefined, BUGGIFY_DEFAULTS);
  }

  /** A seeded Buggify for one simulation run. */
  static seeded(random: Random, options: BuggifyOptions = BUGGIFY_DEFAULTS): Buggify {
    return new Buggify(random, options);
  }

  get enabled(): boolean {
    return this.random !== undefined;
  }

  /** True when `site` is enabled for this run and fires this time. */
  fires(site: string): boolean {
    if (this.random === undefined) return false;
    let siteRandom = this.sites.get(site);
    if (siteRandom === undefined) {
      if (this.sites.size >= BUGGIFY_SITES_MAX) throw new Error(`buggify: over ${BUGGIFY_SITES_MAX} sites`);
      const candidate = this.random.fork(`buggify:${site}`);
      siteRandom = candidate.nextFloat() < this.options.siteEnabledProbability ? candidate : null;
      this.sites.set(site, siteRandom);
    }
    return siteRandom !== null && siteRandom.nextFloat() < this.options.fireProbability;
  }

  /** The sites enabled so far this run, sorted (for the run report). */
  enabledSites(): string[] {
    return [...this.sites.entries()]
      .filter(([, random]) => random !== null)
      .map(([site]) => site)
      .sort();
  }
}
