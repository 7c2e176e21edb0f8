import { randomInt } from 'node:crypto';

/** Short, common, unambiguous words: a minted id reads aloud (`amber-fox-river`). */
const WORDS: readonly string[] = [
  'acorn amber apple arch ash aspen atlas aunt axe bay beach bean bear bee bell berry birch bird',
  'bison blue boat bolt bone book brass bread brick brook broom bud bush cabin cake calm camel',
  'candle canoe cape card cedar chalk cheer chess cider city clay cliff cloud clove coal coast',
  'cocoa comet coral corn cove crab crane creek crow cube cup dawn deer delta desk dew dingo dock',
  'dove drum dune dusk eagle earth echo elk elm ember fable fawn fern field fig finch fir fire',
  'flame flax fleet flint flute foam fog forest fox frost fudge gale gem ginger glade glen globe',
  'goat gold goose grain grape grass grove gull harbor hare hawk hazel heath hedge hen heron hill',
  'holly honey hoop horn husk ibis ice inlet iris iron ivy jade jam jay jet kale kayak kelp kite',
  'kiwi knot lake lamb lamp lark lava leaf lemon lily lime linen lion lodge loom lotus lynx maple',
  'marsh meadow melon mesa mint mist moon moose moss moth mule nest newt night nut oak oasis oat',
  'ocean olive onyx opal orca otter owl palm panda pear pearl pebble pepper perch pine plum pond',
  'poppy prism quail quartz quill rain raven reed reef ridge river robin rock rose ruby rye sage',
  'sail salt sand seal shell shore silk sky slate sloth snow sole spark spruce squid star stone',
  'storm stream sun swan tea teal thorn tide tiger toad torch trail tree trout tulip tuna vale',
  'valley vine violet walnut wave whale wheat willow wind wolf wren yak yarrow yew zebra zinc',
  'cobalt cress daisy eel elder falcon geyser hail heather indigo juniper koala lagoon llama mango',
  'mole moor nectar oriole osprey peach plover puffin rapid rook saffron shrew sparrow swift thyme',
  'topaz umber walrus wasp yucca basil bramble canyon cherry cinder clover cotton cricket cypress',
  'drift ermine ferret fjord garnet gecko grouse hollow jasper lapis larch lichen lilac magpie',
  'marten merlin myrtle nettle ochre pansy petal pike quince rowan sable scarlet sorrel tansy tern',
  'thistle tundra velvet wisp',
]
  .join(' ')
  .split(' ');

/** Tries before giving up on three words alone (with 337 words, ~38 million ids, a collision is rare). */
const TRIES = 16;

/** Three random words joined by `-`, one not taken (`taken` is asked case-insensitively by its caller). */
export function mintRoomId(taken: (id: string) => boolean): string {
  for (let i = 0; ; i++) {
    const id = [pick(), pick(), pick()].join('-');
    // Past the tries (a server holding millions of rooms), a fourth part keeps minting bounded.
    const candidate = i < TRIES ? id : `${id}-${randomInt(1_000_000)}`;
    if (!taken(candidate)) return candidate;
  }
}

function pick(): string {
  return WORDS[randomInt(WORDS.length)];
}
