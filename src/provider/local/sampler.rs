//! Picking the next token from the logits: greedy when the temperature is 0, otherwise
//! temperature, top-k and top-p over a seeded PRNG, so a reply can be reproduced from
//! its seed and sampling costs one pass over the vocabulary, not a sort of it.

/// The temperature when the request names none (the common default of chat UIs).
pub const DEFAULT_TEMPERATURE: f32 = 0.7;
/// Only the most likely tokens are ever drawn: the tail of a 150k vocabulary is noise.
pub const TOP_K: usize = 40;
/// Of those, the smallest set holding this much probability.
pub const TOP_P: f32 = 0.95;

/// Chooses tokens; keeps its PRNG and a small scratch buffer between calls.
#[derive(Debug, Clone)]
pub struct Sampler {
    temperature: f32,
    top_k: usize,
    top_p: f32,
    rng: fastrand::Rng,
    /// The current top-k candidates, most likely first: (logit, id).
    top: Vec<(f32, u32)>,
}

impl Sampler {
    /// A sampler for a request's `temperature` (`None` → [`DEFAULT_TEMPERATURE`]).
    pub fn new(temperature: Option<f64>, seed: u64) -> Self {
        let temperature = temperature.map_or(DEFAULT_TEMPERATURE, |t| t as f32);
        Sampler {
            temperature: if temperature.is_finite() {
                temperature.max(0.0)
            } else {
                DEFAULT_TEMPERATURE
            },
            top_k: TOP_K,
            top_p: TOP_P,
            rng: fastrand::Rng::with_seed(seed),
            top: Vec::with_capacity(TOP_K + 1),
        }
    }

    /// True when every pick is the single most likely token.
    pub fn is_greedy(&self) -> bool {
        self.temperature <= f32::EPSILON
    }

    /// The next token id. Non-finite logits are never chosen unless all are.
    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        if self.is_greedy() {
            return argmax(logits);
        }
        self.collect_top(logits);
        let Some(&(best, best_id)) = self.top.first() else {
            return argmax(logits);
        };
        // Softmax over the candidates, shifted by the best logit for stability.
        let mut total = 0.0f32;
        let weights: Vec<f32> = self
            .top
            .iter()
            .map(|&(l, _)| {
                let w = ((l - best) / self.temperature).exp();
                total += w;
                w
            })
            .collect();
        // Nucleus: the shortest prefix reaching top_p of the mass.
        let mut kept = 0;
        let mut mass = 0.0;
        for w in &weights {
            kept += 1;
            mass += w;
            if mass >= self.top_p * total {
                break;
            }
        }
        let mut target = self.rng.f32() * mass;
        for (w, &(_, id)) in weights.iter().zip(&self.top).take(kept) {
            if target < *w {
                return id;
            }
            target -= w;
        }
        self.top
            .get(kept.saturating_sub(1))
            .map_or(best_id, |&(_, id)| id)
    }

    /// Fills `self.top` with the `top_k` largest finite logits, in descending order,
    /// in one pass: most logits fail the comparison with the current k-th at once.
    fn collect_top(&mut self, logits: &[f32]) {
        self.top.clear();
        let k = self.top_k.max(1);
        for (id, &l) in logits.iter().enumerate() {
            if !l.is_finite() {
                continue;
            }
            if self.top.len() == k && self.top.last().is_some_and(|&(min, _)| l <= min) {
                continue;
            }
            let at = self.top.partition_point(|&(x, _)| x >= l);
            self.top.insert(at, (l, id as u32));
            self.top.truncate(k);
        }
    }
}

/// The id of the largest finite logit (the first of equals); 0 for an empty slice.
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0usize;
    let mut best_logit = f32::NEG_INFINITY;
    for (i, &l) in logits.iter().enumerate() {
        if l > best_logit {
            best_logit = l;
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logits(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..n).map(|_| rng.f32() * 10.0 - 5.0).collect()
    }

    #[test]
    fn zero_temperature_is_argmax() {
        let l = logits(1000, 1);
        let mut s = Sampler::new(Some(0.0), 7);
        let best = l
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i as u32);
        assert_eq!(Some(s.sample(&l)), best);
        assert!(s.is_greedy());
    }

    #[test]
    fn argmax_skips_nan() {
        assert_eq!(argmax(&[f32::NAN, 1.0, 3.0, f32::NAN, 2.0]), 2);
    }

    #[test]
    fn the_same_seed_gives_the_same_tokens() {
        let l = logits(5000, 2);
        let run = |seed| {
            let mut s = Sampler::new(None, seed);
            (0..50).map(|_| s.sample(&l)).collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    #[test]
    fn only_top_k_tokens_are_drawn() {
        let l = logits(5000, 3);
        let mut sorted: Vec<u32> = (0..l.len() as u32).collect();
        sorted.sort_by(|&a, &b| l[b as usize].total_cmp(&l[a as usize]));
        let allowed = &sorted[..TOP_K];
        let mut s = Sampler::new(Some(5.0), 9);
        for _ in 0..500 {
            let t = s.sample(&l);
            assert!(allowed.contains(&t), "{t} is not among the top {TOP_K}");
        }
    }

    #[test]
    fn top_p_cuts_the_unlikely_tail() {
        // One token holds nearly all the mass: nucleus sampling must always pick it.
        let mut l = vec![0.0f32; 100];
        l[17] = 20.0;
        let mut s = Sampler::new(Some(1.0), 5);
        for _ in 0..200 {
            assert_eq!(s.sample(&l), 17);
        }
    }

    #[test]
    fn sampling_follows_the_distribution() {
        // Two tokens with probabilities 3/4 and 1/4 at temperature 1.
        let l = [3f32.ln(), 0.0];
        let mut s = Sampler::new(Some(1.0), 11);
        s.top_p = 1.0;
        let zeros = (0..4000).filter(|_| s.sample(&l) == 0).count();
        assert!((2800..3200).contains(&zeros), "{zeros} of 4000");
    }
}
