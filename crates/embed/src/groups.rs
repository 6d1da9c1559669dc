//! Texts grouped by meaning from their vectors: average-linkage clustering, then the stragglers
//! join the group they are closest to. Pure (vectors in, groups out), so that the analytics
//! service and the examples that tune it run the same code.

/// How texts are grouped: the thresholds are cosines on the vectors given to [`group`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grouping {
    /// How close on average two groups must be to merge.
    pub same_meaning: f32,
    /// Groups of at most this many texts left by the clustering are stragglers: each joins the
    /// group, at least as large, that it is closest to on average, if at least
    /// `close_enough`.
    pub straggler: usize,
    /// How close on average a straggler must be to the group it joins.
    pub close_enough: f32,
    /// Most texts clustered together (the first ones); each of the others joins the group it
    /// is closest to on average if at least `same_meaning`, or stays alone.
    pub clustered: usize,
    /// Rounds of reassignment after the clustering: each text of a group of more than
    /// `straggler` moves to the group of more than `straggler` it is closest to on average
    /// (itself left out), until nothing moves. 0: none.
    pub reassign: usize,
}

/// The groups of `vectors` (unit vectors, one a text, all of one length): each group is the
/// indices of its texts, in order; the groups in order of their first text. Without vectors,
/// each text is its own group.
pub fn group<V: AsRef<[f32]>>(vectors: &[V], how: &Grouping) -> Vec<Vec<usize>> {
    let total = vectors.len();
    let n = total.min(how.clustered);
    let sim = |a: usize, b: usize| crate::cosine(vectors[a].as_ref(), vectors[b].as_ref());
    let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    let mut alive: Vec<bool> = vec![true; n];
    // The average similarity of every two groups.
    let mut between: Vec<Vec<f32>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| if i == j { f32::MIN } else { sim(i, j) })
                .collect()
        })
        .collect();
    // Group `b` joins group `a`.
    let merge = |a: usize,
                 b: usize,
                 members: &mut Vec<Vec<usize>>,
                 alive: &mut Vec<bool>,
                 between: &mut Vec<Vec<f32>>| {
        let (size_a, size_b) = (members[a].len() as f32, members[b].len() as f32);
        for k in 0..n {
            if alive[k] && k != a && k != b {
                let merged = (between[a][k] * size_a + between[b][k] * size_b) / (size_a + size_b);
                between[a][k] = merged;
                between[k][a] = merged;
            }
        }
        let moved = std::mem::take(&mut members[b]);
        members[a].extend(moved);
        alive[b] = false;
    };
    // The two groups closest on average merge, while that average is at least `same_meaning`.
    loop {
        let mut best = (f32::MIN, 0, 0);
        for i in 0..n {
            if !alive[i] {
                continue;
            }
            for j in (i + 1)..n {
                if alive[j] && between[i][j] > best.0 {
                    best = (between[i][j], i, j);
                }
            }
        }
        let (score, a, b) = best;
        if score < how.same_meaning {
            break;
        }
        merge(a, b, &mut members, &mut alive, &mut between);
    }
    // The straggler closest to a group at least as large joins it.
    loop {
        let mut best = (f32::MIN, 0, 0);
        for i in 0..n {
            if !alive[i] || members[i].len() > how.straggler {
                continue;
            }
            for j in 0..n {
                if alive[j]
                    && j != i
                    && members[j].len() >= members[i].len()
                    && between[i][j] > best.0
                {
                    best = (between[i][j], j, i);
                }
            }
        }
        let (score, into, straggler) = best;
        if score < how.close_enough {
            break;
        }
        merge(into, straggler, &mut members, &mut alive, &mut between);
    }
    let mut groups: Vec<Vec<usize>> = members.into_iter().filter(|m| !m.is_empty()).collect();
    reassign(&mut groups, how, &sim);
    let closest = |i: usize, groups: &[Vec<usize>]| {
        groups
            .iter()
            .enumerate()
            .map(|(g, m)| {
                (
                    g,
                    m.iter().map(|&j| sim(i, j)).sum::<f32>() / m.len() as f32,
                )
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
    };
    for i in n..total {
        match closest(i, &groups) {
            Some((g, s)) if s >= how.same_meaning => groups[g].push(i),
            _ => groups.push(vec![i]),
        }
    }
    for g in &mut groups {
        g.sort_unstable();
    }
    groups.retain(|g| !g.is_empty());
    groups.sort_by_key(|g| g[0]);
    groups
}

/// [`Grouping::reassign`]'s rounds over `groups`.
fn reassign(groups: &mut [Vec<usize>], how: &Grouping, sim: &impl Fn(usize, usize) -> f32) {
    for _ in 0..how.reassign {
        let large: Vec<usize> = (0..groups.len())
            .filter(|&g| groups[g].len() > how.straggler)
            .collect();
        let mut moves = Vec::new();
        for &from in &large {
            for &i in &groups[from] {
                let average = |g: usize| {
                    let others = groups[g].iter().filter(|&&j| j != i);
                    let count = groups[g].len() - usize::from(g == from);
                    others.map(|&j| sim(i, j)).sum::<f32>() / count.max(1) as f32
                };
                let here = average(from);
                let best = large
                    .iter()
                    .map(|&g| (g, average(g)))
                    .max_by(|a, b| a.1.total_cmp(&b.1));
                if let Some((to, score)) = best {
                    if to != from && score > here {
                        moves.push((i, from, to));
                    }
                }
            }
        }
        if moves.is_empty() {
            break;
        }
        for (i, from, to) in moves {
            // A group is never emptied: its last text stays.
            if groups[from].len() > 1 {
                groups[from].retain(|&j| j != i);
                groups[to].push(i);
            }
        }
    }
}

/// `vectors` less their mean, each normalised again: what sets these texts apart rather than
/// what they share (multilingual-e5-small's cosines sit in a narrow band near 0.8).
pub fn centred<V: AsRef<[f32]>>(vectors: &[V]) -> Vec<Vec<f32>> {
    centred_on(vectors, &mean(vectors))
}

/// The mean of `vectors` (all of one length; empty without vectors).
pub fn mean<V: AsRef<[f32]>>(vectors: &[V]) -> Vec<f32> {
    let Some(first) = vectors.first() else {
        return Vec::new();
    };
    let mut mean = vec![0f32; first.as_ref().len()];
    for v in vectors {
        for (m, x) in mean.iter_mut().zip(v.as_ref()) {
            *m += x / vectors.len() as f32;
        }
    }
    mean
}

/// `vectors` less a fixed `mean` (a background's, see [`mean`]), each normalised again.
pub fn centred_on<V: AsRef<[f32]>>(vectors: &[V], mean: &[f32]) -> Vec<Vec<f32>> {
    vectors
        .iter()
        .map(|v| normalised(v.as_ref().iter().zip(mean).map(|(x, m)| x - m).collect()))
        .collect()
}

/// Each text's unit vectors of several models side by side, the `i`th part scaled by the square
/// root of `weights[i]` (weights summing to 1 keep the result a unit vector, and its cosines
/// the weighted mean of the parts'). Every part has one vector a text.
pub fn side_by_side<V: AsRef<[f32]>>(parts: &[(&[V], f32)]) -> Vec<Vec<f32>> {
    let texts = parts.first().map_or(0, |(p, _)| p.len());
    (0..texts)
        .map(|i| {
            parts
                .iter()
                .flat_map(|(p, w)| p[i].as_ref().iter().map(move |x| x * w.sqrt()))
                .collect()
        })
        .collect()
}

/// The adjusted Rand index of two labellings of the same items (1: the same groups; about 0:
/// no better than chance).
pub fn adjusted_rand_index(truth: &[usize], found: &[usize]) -> f64 {
    let pairs = |n: f64| n * (n - 1.0) / 2.0;
    let rows = truth.iter().max().map_or(0, |m| m + 1);
    let cols = found.iter().max().map_or(0, |m| m + 1);
    let mut table = vec![vec![0f64; cols]; rows];
    for (&t, &f) in truth.iter().zip(found) {
        table[t][f] += 1.0;
    }
    let index: f64 = table.iter().flatten().map(|&n| pairs(n)).sum();
    let a: f64 = table.iter().map(|r| pairs(r.iter().sum())).sum();
    let b: f64 = (0..cols)
        .map(|j| pairs(table.iter().map(|r| r[j]).sum()))
        .sum();
    let expected = a * b / pairs(truth.len() as f64);
    let max = (a + b) / 2.0;
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

fn normalised(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOW: Grouping = Grouping {
        same_meaning: 0.5,
        straggler: 1,
        close_enough: 0.3,
        clustered: 400,
        reassign: 0,
    };

    #[test]
    fn close_vectors_are_one_group_and_far_ones_another() {
        let v = [
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.96, 0.28, 0.0],
            [0.28, 0.96, 0.0],
            [0.0, 0.0, 1.0],
        ];
        assert_eq!(group(&v, &HOW), vec![vec![0, 2], vec![1, 3], vec![4]]);
    }

    #[test]
    fn a_straggler_joins_the_group_it_is_close_enough_to() {
        // On average 0.33 from the first two: too far to merge, close enough to join.
        let v = [[1.0, 0.0], [0.96, 0.28], [0.2, 0.98]];
        assert_eq!(group(&v, &HOW), vec![vec![0, 1, 2]]);
        let strict = Grouping {
            close_enough: 0.4,
            ..HOW
        };
        assert_eq!(group(&v, &strict), vec![vec![0, 1], vec![2]]);
    }

    #[test]
    fn texts_beyond_the_clustered_join_the_closest_group() {
        let how = Grouping {
            clustered: 2,
            ..HOW
        };
        let v = [[1.0, 0.0], [0.0, 1.0], [0.96, 0.28], [-1.0, 0.0]];
        assert_eq!(group(&v, &how), vec![vec![0, 2], vec![1], vec![3]]);
    }

    #[test]
    fn centred_is_centred_on_its_own_mean() {
        let v = [[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]];
        assert_eq!(centred(&v), centred_on(&v, &mean(&v)));
        // A fixed background's mean, not the vectors' own.
        let on = centred_on(&[[1.0, 0.0]], &[0.0, 1.0]);
        let s = std::f32::consts::FRAC_1_SQRT_2;
        assert!((on[0][0] - s).abs() < 1e-6 && (on[0][1] + s).abs() < 1e-6);
        assert!(mean(&Vec::<Vec<f32>>::new()).is_empty());
    }

    #[test]
    fn centred_parts_side_by_side_are_unit_vectors() {
        let a = centred(&[[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]]);
        let b = centred(&[[0.8, 0.6], [0.6, 0.8], [1.0, 0.0]]);
        for v in side_by_side(&[(&a[..], 0.5), (&b[..], 0.5)]) {
            let norm: f32 = v.iter().map(|x| x * x).sum();
            assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        }
        assert!(group(&Vec::<Vec<f32>>::new(), &HOW).is_empty());
    }
}
