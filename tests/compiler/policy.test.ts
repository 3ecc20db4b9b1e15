/**
 * std/policy: the UPGE parts and instances (SFT, on-policy REINFORCE, PPO, GRPO, HPT's switch)
 * against formulas evaluated independently here: the PPO clip mask at chosen ρ, A including
 * ρ = 1 ± ε; each instance's gradient with respect to the token log-probs against the hand form
 * 1_stable · (π_θ/π_ref) · Â · mask / Σmask and against the gradient of the classic loss
 * (-min(ρA, clip(ρ)A), -mean log π) through estc's own autodiff and central finite differences;
 * GRPO's advantage against a hand computation with the official code's conventions (std := 1
 * for one sample or zero std, unbiased std). Every case runs on all three evaluators.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, run, tolerance, type Backend, type Input } from "../helpers/backends.js";
import { expectClose } from "../helpers/expect.js";

const SRC = `
import { upge_loss, ppo_stable, grpo_advantage, sft_loss, reinforce_loss, ppo_loss, grpo_loss, hpt_loss, hpt_alpha, sft_loss_2d, reinforce_loss_2d, ppo_loss_2d } from "std/policy"

fn stable(ratio: f32[P, N, T], adv: f32[P, N, T], eps: f32 = 0.2) -> f32[P, N, T] { return ppo_stable(ratio, adv, eps = eps) }
fn upge(logp: f32[P, N, T], ref_logp: f32[P, N, T], adv: f32[P, N, T], st: f32[P, N, T], mask: f32[P, N, T]) -> f32 { return upge_loss(logp, ref_logp, adv, st, mask) }
fn adv(rewards: f32[P, N]) -> f32[P, N] { return grpo_advantage(rewards) }
fn sft(logp: f32[P, N, T], mask: f32[P, N, T]) -> f32 { return sft_loss(logp, mask) }
fn reinforce(logp: f32[P, N, T], rewards: f32[P, N], mask: f32[P, N, T], b: f32 = 0.0) -> f32 { return reinforce_loss(logp, rewards, mask, baseline = b) }
fn ppo(logp: f32[P, N, T], old: f32[P, N, T], a: f32[P, N, T], mask: f32[P, N, T], eps: f32 = 0.2) -> f32 { return ppo_loss(logp, old, a, mask, eps = eps) }
fn grpo(logp: f32[P, N, T], old: f32[P, N, T], rewards: f32[P, N], mask: f32[P, N, T]) -> f32 { return grpo_loss(logp, old, rewards, mask) }
fn hpt(logp: f32[P, N, T], old: f32[P, N, T], rewards: f32[P, N], mask: f32[P, N, T], demo: f32[P, M, U], dmask: f32[P, M, U], gate: f32 = 0.0, coef: f32 = 1.0) -> f32 {
  return hpt_loss(logp, old, rewards, mask, demo, dmask, gate = gate, sft_coef = coef)
}
fn sft2(logp: f32[B, T], mask: f32[B, T]) -> f32 { return sft_loss_2d(logp, mask) }
fn reinforce2(logp: f32[B, T], rewards: f32[B], mask: f32[B, T], b: f32 = 0.0) -> f32 { return reinforce_loss_2d(logp, rewards, mask, baseline = b) }
fn ppo2(logp: f32[B, T], old: f32[B, T], a: f32[B, T], mask: f32[B, T]) -> f32 { return ppo_loss_2d(logp, old, a, mask) }
fn alpha(rewards: f32[P, N], gate: f32 = 0.0) -> f32[P] { return hpt_alpha(rewards, gate = gate) }

// The classic losses, written out independently of std/policy (the official code's forms).
fn ppo_classic(logp: f32[P, N, T], old: f32[P, N, T], a: f32[P, N, T], mask: f32[P, N, T], eps: f32 = 0.2) -> f32 {
  let r = exp(logp - old)
  return sum(-min(r * a, clamp(r, 1 - eps, 1 + eps) * a) * mask) / sum(mask)
}
fn sft_classic(logp: f32[P, N, T], mask: f32[P, N, T]) -> f32 { return sum(-logp * mask) / sum(mask) }
`;

const t3 = (data: number[], p: number, n: number, t: number): Input => ({ data, shape: [p, n, t] });
const sum = (x: number[]) => x.reduce((a, v) => a + v, 0);

async function grads(b: Backend, fn: string, inputs: Record<string, Input>, scalars?: Record<string, number>) {
  const r = await run(b, SRC, fn, inputs, { valueAndGrad: true, scalars });
  return { value: r.outputs[0]![0]!, grads: r.grads };
}

/** Central finite differences of fn `name` in the f64 evaluator, with respect to input `wrt`. */
async function finiteDiff(name: string, inputs: Record<string, Input>, wrt: string, scalars?: Record<string, number>): Promise<number[]> {
  const h = 1e-6;
  const base = inputs[wrt]!;
  const out: number[] = [];
  for (let i = 0; i < base.data.length; i++) {
    const at = (d: number) => {
      const data = Array.from(base.data);
      data[i] = data[i]! + d;
      return run("f64", SRC, name, { ...inputs, [wrt]: { ...base, data } }, { scalars }).then((r) => r.outputs[0]![0]!);
    };
    out.push(((await at(h)) - (await at(-h))) / (2 * h));
  }
  return out;
}

describe("ppo_stable: 0 iff (A > 0 and ρ > 1+ε) or (A < 0 and ρ < 1−ε)", () => {
  const hand = (rho: number, a: number, eps: number) => ((a > 0 && rho > 1 + eps) || (a < 0 && rho < 1 - eps) ? 0 : 1);
  const check = async (eps: number, rhos: number[], backends: readonly Backend[]) => {
    const advs = [-1, 0, 0.5];
    const ratio: number[] = [];
    const a: number[] = [];
    for (const av of advs) for (const r of rhos) (ratio.push(Math.fround(r)), a.push(av));
    const want = ratio.map((r, i) => hand(r, a[i]!, eps));
    expect(want.filter((w) => w === 0).length, "some tokens are masked").toBeGreaterThan(0);
    for (const b of backends) {
      const r = await run(b, SRC, "stable", { ratio: t3(ratio, 1, advs.length, rhos.length), adv: t3(a, 1, advs.length, rhos.length) }, { scalars: { eps } });
      expect(r.outputs[0], `${b}`).toEqual(want);
    }
  };
  it("ε = 0.25 (1 ± ε exact in f32): ρ = 0.75 and 1.25 are kept, one f32 step beyond is masked", async () => {
    // hand(): 1.25 → 1 for A > 0; 1.2500001 (f32) → 0; 0.75 → 1 for A < 0; 0.7499999 → 0.
    expect([hand(1.25, 1, 0.25), hand(Math.fround(1.2500001), 1, 0.25), hand(0.75, -1, 0.25), hand(Math.fround(0.7499999), -1, 0.25)]).toEqual([1, 0, 1, 0]);
    await check(0.25, [0.5, 0.75, 0.7499999, 1, 1.25, 1.2500001, 2], BACKENDS);
  });
  it("ε = 0.2: boundaries ρ = 0.8, 1.2 exactly in f64; on f32 (where 1.2 and 0.8 are not exact) just inside and outside", async () => {
    await check(0.2, [0.5, 0.8, 1, 1.2, 1.5], ["f64"]);
    await check(0.2, [0.5, 0.799, 0.801, 1, 1.199, 1.201, 1.5], BACKENDS);
  });
});

// A [P=2, N=2, T=3] batch: log-ratios chosen so ρ covers the clipped and unclipped regions.
const LOG_RHO = [0.5, -0.5, 0.1, -0.1, 0.3, -0.3, 0.05, 0.25, -0.25, 0.15, -0.4, 0];
const OLD = [-1, -0.5, -2, -0.25, -1.5, -0.75, -1, -3, -0.5, -0.125, -2.5, -1.25];
const LOGP = OLD.map((o, i) => o + LOG_RHO[i]!);
const ADV = [1, 1, 1, -1, -1, -1, 0.5, -2, 2, -0.5, 0.75, -1.5];
const MASK = [1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1];
const shape3 = (d: number[]) => t3(d, 2, 2, 3);

describe("PPO (π_ref = π_old, clip ε = 0.2): the UPGE gradient is the clipped objective's", () => {
  it("∂L/∂logp = −1_stable · ρ · A · mask / Σmask, = ∇ of −min(ρA, clip(ρ)A) (autodiff and finite differences)", async () => {
    const S = sum(MASK);
    const want = LOGP.map((_, i) => {
      const rho = Math.exp(LOG_RHO[i]!);
      const a = ADV[i]!;
      const st = (a > 0 && rho > 1.2) || (a < 0 && rho < 0.8) ? 0 : 1;
      return (-st * rho * a * MASK[i]!) / S;
    });
    // Some tokens are clipped (zero gradient) and some are not: the test sees both.
    expect(want.filter((w) => w === 0).length).toBeGreaterThan(2);
    expect(want.filter((w) => w !== 0).length).toBeGreaterThan(4);
    const inputs = { logp: shape3(LOGP), old: shape3(OLD), a: shape3(ADV), mask: shape3(MASK) };
    const fd = await finiteDiff("ppo_classic", inputs, "logp");
    expectClose(fd, want, 1e-7, "finite differences of the classic loss");
    const classicValue = sum(LOGP.map((_, i) => {
      const rho = Math.exp(LOG_RHO[i]!);
      const a = ADV[i]!;
      return -Math.min(rho * a, Math.min(Math.max(rho, 0.8), 1.2) * a) * MASK[i]!;
    })) / S;
    for (const b of BACKENDS) {
      const upge = await grads(b, "ppo", inputs);
      expectClose(upge.grads["logp"], want, tolerance(b), `${b} ppo_loss gradient`);
      expectClose([upge.value], [classicValue], tolerance(b), `${b} ppo_loss value is the clipped loss`);
      const classic = await grads(b, "ppo_classic", inputs);
      expectClose(classic.grads["logp"], want, tolerance(b), `${b} classic autodiff`);
    }
  });
});

describe("grpo_advantage: (r − mean) / (std + 1e-6), the official conventions", () => {
  it("groups of 4: mixed, all equal (std := 1, Â = 0), all zero, graded rewards", async () => {
    const r = [1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0.5, 2, -1, 0];
    const want: number[] = [];
    for (let p = 0; p < 4; p++) {
      const g = r.slice(4 * p, 4 * p + 4);
      const mu = sum(g) / 4;
      let sd = Math.sqrt(sum(g.map((v) => (v - mu) ** 2)) / 3); // torch.std: unbiased
      if (sd === 0) sd = 1;
      want.push(...g.map((v) => (v - mu) / (sd + 1e-6)));
    }
    // Hand values of the first group: mean 0.5, std sqrt(1/3): ±0.5 / (0.5773503 + 1e-6) = ±0.8660239.
    expect(want[0]).toBeCloseTo(0.8660239, 6);
    expect(want.slice(4, 12)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    for (const b of BACKENDS) {
      const out = await run(b, SRC, "adv", { rewards: { data: r, shape: [4, 4] } });
      expectClose(out.outputs[0], want, tolerance(b), `${b} Â`);
    }
  });

  it("a group of one sample has mean 0 and std 1: Â = r / (1 + 1e-6)", async () => {
    const r = [0.75, 0, -2];
    for (const b of BACKENDS) {
      const out = await run(b, SRC, "adv", { rewards: { data: r, shape: [3, 1] } });
      expectClose(out.outputs[0], r.map((v) => v / (1 + 1e-6)), tolerance(b), `${b} Â`);
    }
  });
});

describe("GRPO: PPO's clipped ratio with the group advantage broadcast over each response's tokens", () => {
  it("∂L/∂logp = −1_stable · ρ · Â_response · mask / Σmask", async () => {
    const rewards = [1, 0, 0, 1];
    // Â: group 1 (1, 0): mean 0.5, unbiased std sqrt(0.5) → ±0.5/(sqrt(0.5) + 1e-6); group 2 (0, 1) → ∓ the same.
    const a = 0.5 / (Math.SQRT1_2 + 1e-6);
    const perResp = [a, -a, -a, a];
    const S = sum(MASK);
    const want = LOGP.map((_, i) => {
      const rho = Math.exp(LOG_RHO[i]!);
      const av = perResp[Math.floor(i / 3)]!;
      const st = (av > 0 && rho > 1.2) || (av < 0 && rho < 0.8) ? 0 : 1;
      return (-st * rho * av * MASK[i]!) / S;
    });
    expect(want.filter((w) => w === 0).length).toBeGreaterThan(2);
    for (const b of BACKENDS) {
      const g = await grads(b, "grpo", { logp: shape3(LOGP), old: shape3(OLD), rewards: { data: rewards, shape: [2, 2] }, mask: shape3(MASK) });
      expectClose(g.grads["logp"], want, tolerance(b), `${b} grpo gradient`);
    }
  });
});

describe("SFT (π_ref = π_θ, Â = 1): ∇ of −mean log π", () => {
  it("∂L/∂logp = −mask / Σmask, value masked_mean(−logp), the same as the classic loss's autodiff", async () => {
    const S = sum(MASK);
    const want = MASK.map((m) => -m / S);
    const value = sum(LOGP.map((l, i) => -l * MASK[i]!)) / S;
    for (const b of BACKENDS) {
      const g = await grads(b, "sft", { logp: shape3(LOGP), mask: shape3(MASK) });
      expectClose(g.grads["logp"], want, tolerance(b), `${b} sft gradient`);
      expectClose([g.value], [value], tolerance(b), `${b} sft value`);
      const c = await grads(b, "sft_classic", { logp: shape3(LOGP), mask: shape3(MASK) });
      expectClose(c.grads["logp"], want, tolerance(b), `${b} classic`);
    }
  });
});

describe("on-policy REINFORCE (π_ref = sg(π_θ), Â = r − b)", () => {
  it("∂L/∂logp = −(r − b) · mask / Σmask per response", async () => {
    const rewards = [1, 0, 0.5, -1];
    const S = sum(MASK);
    const want = MASK.map((m, i) => (-(rewards[Math.floor(i / 3)]! - 0.25) * m) / S);
    for (const b of BACKENDS) {
      const g = await grads(b, "reinforce", { logp: shape3(LOGP), rewards: { data: rewards, shape: [2, 2] }, mask: shape3(MASK) }, { b: 0.25 });
      expectClose(g.grads["logp"], want, tolerance(b), `${b} reinforce gradient`);
    }
  });
});

describe("upge_loss with π_ref = 1 (zeros as ref_logp): −stable · π_θ · Â · mask / Σmask", () => {
  it("the weight is π_θ = exp(logp) itself", async () => {
    const st = [1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1];
    const S = sum(MASK);
    const want = LOGP.map((l, i) => (-st[i]! * Math.exp(l) * ADV[i]! * MASK[i]!) / S);
    for (const b of BACKENDS) {
      const g = await grads(b, "upge", { logp: shape3(LOGP), ref_logp: shape3(LOGP.map(() => 0)), adv: shape3(ADV), st: shape3(st), mask: shape3(MASK) });
      expectClose(g.grads["logp"], want, tolerance(b), `${b} upge gradient`);
      expect(g.grads["ref_logp"]!.every((v) => v === 0), "no gradient flows to π_ref").toBe(true);
    }
  });
});

describe("HPT's switch: SFT on the demonstration when P ≤ gate, else GRPO on the rollouts", () => {
  // Prompt 0: rewards (0, 0) → P = 0 ≤ 0 → SFT. Prompt 1: (1, 0) → P = 1 → GRPO.
  const rewards = [0, 0, 1, 0];
  const demo = [-0.5, -1, -2, -0.25];
  const dmask = [1, 1, 1, 0];
  const inputs = { logp: shape3(LOGP), old: shape3(OLD), rewards: { data: rewards, shape: [2, 2] }, mask: shape3(MASK), demo: t3(demo, 2, 1, 2), dmask: t3(dmask, 2, 1, 2) };

  it("gate 0: prompt 0's rollouts get no gradient, its demonstration −coef/Σ; prompt 1 is GRPO, its demo untouched", async () => {
    const a = 0.5 / (Math.SQRT1_2 + 1e-6);
    const perResp = [0, 0, a, -a]; // prompt 0's rollouts are dropped
    const rlMask = MASK.map((m, i) => (i < 6 ? 0 : m));
    const S = sum(rlMask);
    const wantLogp = LOGP.map((_, i) => {
      const rho = Math.exp(LOG_RHO[i]!);
      const av = perResp[Math.floor(i / 3)]!;
      const st = (av > 0 && rho > 1.2) || (av < 0 && rho < 0.8) ? 0 : 1;
      return (-st * rho * av * rlMask[i]!) / S;
    });
    const sftMask = [1, 1, 0, 0]; // prompt 0's demo tokens only
    const wantDemo = sftMask.map((m) => (-0.5 * m) / 2);
    for (const b of BACKENDS) {
      const g = await grads(b, "hpt", inputs, { coef: 0.5 });
      expectClose(g.grads["logp"], wantLogp, tolerance(b), `${b} rollouts`);
      expectClose(g.grads["demo"], wantDemo, tolerance(b), `${b} demonstration`);
      const al = await run(b, SRC, "alpha", { rewards: inputs.rewards });
      expect(al.outputs[0], `${b} α`).toEqual([0, 1]);
    }
  });

  it("gate 1: both prompts switch to SFT; the rollouts get no gradient", async () => {
    const wantDemo = dmask.map((m) => -m / 3);
    for (const b of BACKENDS) {
      const g = await grads(b, "hpt", inputs, { gate: 1 });
      expectClose(g.grads["logp"], LOGP.map(() => 0), tolerance(b), `${b} rollouts`);
      expectClose(g.grads["demo"], wantDemo, tolerance(b), `${b} demonstration`);
    }
  });
});

describe("flat-batch variants f32[B, T] (sft_loss_2d, reinforce_loss_2d, ppo_loss_2d)", () => {
  it("give the same gradients as the formulas for B = 4 sequences of T = 3 tokens", async () => {
    const t2 = (d: number[]): Input => ({ data: d, shape: [4, 3] });
    const S = sum(MASK);
    const rewards = [1, 0, 0.5, -1];
    const wantPpo = LOGP.map((_, i) => {
      const rho = Math.exp(LOG_RHO[i]!);
      const a = ADV[i]!;
      const st = (a > 0 && rho > 1.2) || (a < 0 && rho < 0.8) ? 0 : 1;
      return (-st * rho * a * MASK[i]!) / S;
    });
    for (const b of BACKENDS) {
      const sft = await grads(b, "sft2", { logp: t2(LOGP), mask: t2(MASK) });
      expectClose(sft.grads["logp"], MASK.map((m) => -m / S), tolerance(b), `${b} sft_loss_2d`);
      const re = await grads(b, "reinforce2", { logp: t2(LOGP), rewards: { data: rewards, shape: [4] }, mask: t2(MASK) }, { b: 0.25 });
      expectClose(re.grads["logp"], MASK.map((m, i) => (-(rewards[Math.floor(i / 3)]! - 0.25) * m) / S), tolerance(b), `${b} reinforce_loss_2d`);
      const pp = await grads(b, "ppo2", { logp: t2(LOGP), old: t2(OLD), a: t2(ADV), mask: t2(MASK) });
      expectClose(pp.grads["logp"], wantPpo, tolerance(b), `${b} ppo_loss_2d`);
    }
  });
});
