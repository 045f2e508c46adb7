# `chop bench sampler`: one JSON line; ZDT1 with the true front's hypervolume; clear errors.
ok "$CHOP" bench sampler --sampler random --trials 30 --seed 1
python3 -c "import json,sys; j=json.loads(sys.argv[1]); assert j['n_trials'] == 30 and len(j['best']) == 30, j" "$OUT" \
  && pass || fail "bench sampler printed no JSON line of 30 trials: $OUT"
ok "$CHOP" bench sampler --sampler nsgaii --space zdt1 --objectives 2 --trials 200 --sampler-options '{"population_size": 20}'
python3 -c "
import json, sys
j = json.loads(sys.argv[1])
assert j['space'] == 'zdt1' and j['sampler_options'] == {'population_size': 20}, j
assert abs(j['true_front_hypervolume'] - (0.1 + 2 / 3 + 0.11)) < 1e-12, j
assert 0 <= j['hypervolume_ratio'] < 1, j
" "$OUT" && pass || fail "zdt1 bench output is wrong: $OUT"
fails "unknown space 'zdt9'" "$CHOP" bench sampler --space zdt9 --objectives 2
fails "zdt1' has 2 objectives" "$CHOP" bench sampler --space zdt1
fails "not valid JSON" "$CHOP" bench sampler --sampler-options '{oops'
fails "must be a JSON object" "$CHOP" bench sampler --sampler-options '[1]'
fails "unknown option of sampler 'nsgaii' 'bogus'" "$CHOP" bench sampler --sampler nsgaii --sampler-options '{"bogus": 1}'
fails "population_size must be an integer" "$CHOP" bench sampler --sampler nsgaii --sampler-options '{"population_size": 2.5}'
