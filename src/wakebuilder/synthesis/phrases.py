"""Text variants for TTS: punctuation and casing of the wake word, and general sentences."""

from __future__ import annotations

import re

import numpy as np

_PUNCT_RE = re.compile(r"[^\w\s'-]+", re.UNICODE)


def clean_text(text: str) -> str:
    """Lower case, punctuation removed (apostrophes and hyphens kept), spaces collapsed."""
    return " ".join(_PUNCT_RE.sub(" ", text).lower().split())


def prosody_variants(text: str) -> list[str]:
    """Punctuation and casing variants that make TTS engines change intonation and pauses.

    ``"hey jarvis"`` gives ``"hey jarvis"``, ``"hey jarvis!"``, ``"hey, jarvis."``,
    ``"Hey Jarvis?"``, ``"hey jarvis..."`` and so on; the words never change.
    """
    base = clean_text(text)
    if not base:
        return []
    words = base.split()
    title = " ".join(w[:1].upper() + w[1:] for w in words)
    capital = base[:1].upper() + base[1:]
    variants = [base, f"{base}!", f"{base}.", f"{capital}?", f"{base}...", f"{title}!",
                f"{capital}.", f"{base}?", f"{title}.", f"{base}!!"]
    if len(words) > 1:
        comma = f"{words[0]}, {' '.join(words[1:])}"
        variants += [f"{comma}.", f"{comma}!", f"{comma}?", f"{words[0]}... {' '.join(words[1:])}",
                     f"{title[:1]}{comma[1:]}."]
    else:
        variants += [f"Um, {base}.", f"{capital}!", f"{base}?!"]
    return list(dict.fromkeys(variants))


GENERAL_SENTENCES: tuple[str, ...] = (
    "What time is it right now?", "Turn off the kitchen lights.", "I'll be home around six.",
    "Did you remember to feed the cat?", "The weather looks nice today.",
    "Can you pass me the salt, please?", "We should leave before the traffic gets bad.",
    "Where did I put my keys?", "That movie was better than I expected.",
    "Let's order pizza tonight.", "How much does this cost?", "I'm not sure that's right.",
    "Please call me back when you can.", "The meeting has been moved to Thursday.",
    "She plays the piano every morning.", "My phone battery is almost dead.",
    "It's going to rain this afternoon.", "Could you open the window a little?",
    "I think we're out of milk.", "The train leaves at half past nine.",
    "He forgot his umbrella again.", "Have you seen my glasses anywhere?",
    "This coffee is still too hot.", "Let me know if you need anything.",
    "We went hiking in the mountains last weekend.", "The kids are finally asleep.",
    "Don't forget to lock the front door.", "I need to buy some new shoes.",
    "What's on the menu for dinner?", "The library closes at eight tonight.",
    "Set a timer for ten minutes.", "Play some relaxing music.", "Add eggs to the shopping list.",
    "Remind me to water the plants tomorrow.", "How far is it to the airport?",
    "The garden needs a lot of work this spring.", "I can't find the remote control.",
    "Our neighbours just got a new puppy.", "The printer is out of paper again.",
    "Would you like some tea or coffee?", "It was a long day at work.",
    "The bus was twenty minutes late.", "I'll send you the details by email.",
    "Why is the television so loud?", "Put the dishes in the sink, please.",
    "The store is having a big sale this week.", "My sister lives in another city.",
    "We're planning a trip to the coast.", "I haven't seen that show yet.",
    "The soup needs a bit more pepper.", "Can you help me carry these boxes?",
    "The children are playing in the yard.", "I'm going for a run before breakfast.",
    "That's the funniest thing I've heard all week.", "Please turn the volume down.",
    "The doctor said I should rest for a few days.", "We need to fix the leaking tap.",
    "There's a strange noise coming from the car.", "Happy birthday, I hope you have a great day.",
    "The concert starts at seven thirty.", "Let's meet at the usual place.",
    "I'd rather stay in tonight.", "Who left the door open?", "The oven is already preheated.",
    "Thanks for your help yesterday.", "The bread is in the second drawer.",
    "I love the smell of fresh rain.", "Do you know a good place for lunch?",
    "My computer keeps freezing.", "The heating doesn't seem to be working.",
    "We should paint the bedroom blue.", "What did you say your name was?",
    "Could you speak a little slower?", "The package should arrive on Monday.",
    "I'm reading a really good book at the moment.", "Is there any cake left?",
    "The river is very high after the storm.", "I'll pick up the kids from school.",
    "Turn left at the next corner.", "We watched the sunset from the beach.",
    "The password is written on the back.", "It's too cold to go swimming.",
    "My favourite colour has always been green.", "He's learning to play the guitar.",
    "Let's take the dog for a walk.", "The washing machine has finished.",
    "I don't think that's a good idea.", "Everyone enjoyed the party.",
    "Please write your name at the top of the page.", "How was your trip?",
    "The office will be closed on Friday.", "She bought a bicycle last summer.",
    "The baby is starting to walk.", "We ran out of time.", "What a beautiful morning.",
    "Can I borrow your pen for a second?", "The restaurant was fully booked.",
    "I'll call the plumber tomorrow morning.", "Keep the change.",
    "The lights in the hallway are flickering.", "I prefer my eggs scrambled.",
    "How many people are coming to dinner?", "The road is closed for repairs.",
    "This recipe needs three cups of flour.", "Are you ready to go?",
    "I'm afraid I have some bad news.", "Tomorrow will be sunny and warm.",
    "The museum is free on Sundays.", "He always sings in the shower.",
    "Let's play a board game after dinner.", "My alarm didn't go off this morning.",
    "The fridge is making a humming sound.", "I've got a headache.",
    "Could you check the tyre pressure?", "The match ended in a draw.",
    "She runs a small bakery downtown.", "We'll need more chairs for the guests.",
    "Is it supposed to snow this week?", "Please don't touch that.",
    "I forgot to bring my wallet.", "The new bridge opens next month.",
    "Grandma is coming to visit on Saturday.", "The phone is ringing.",
    "Close the curtains, it's getting dark.", "I planted tomatoes and beans this year.",
    "Which platform does the train leave from?", "That's exactly what I was thinking.",
    "The shop around the corner sells fresh fish.", "Could we reschedule our call?",
    "My hands are freezing.", "The floor is still wet.", "Where's the nearest pharmacy?",
    "I'd like a glass of water, please.", "We should get some exercise.",
    "The internet connection is really slow today.", "Let's go to the park.",
    "It smells like something is burning.", "Your order is ready for collection.",
    "I think I left the stove on.", "Can you record the game for me?",
    "He's been working from home all week.", "The cat knocked a glass off the table.",
    "We'll take the early flight.", "Breakfast is ready.", "Please wipe your feet.",
    "I'm looking forward to the holidays.", "The clock in the kitchen is five minutes fast.",
    "Would you mind closing the door?", "The lecture was really interesting.",
    "I need to charge my headphones.", "The tickets sold out in an hour.",
    "Let's try the new cafe on Main Street.", "I'll see you next week.",
    "The fire alarm is beeping.", "Good morning, how did you sleep?",
    "Good night, sleep well.", "See you later.", "Nice to meet you.",
    "Excuse me, is this seat taken?", "I'm sorry, I didn't catch that.",
    "One, two, three, four, five.", "Seven, eight, nine, ten.", "It's a quarter to four.",
    "The score was three to one.", "Mix the butter and sugar together.",
    "Slow down, there's a speed camera.", "The elevator is out of order.",
    "What are you doing this weekend?", "I'll have the chicken salad, please.",
    "That's not what I ordered.", "How do you spell that?", "Go ahead, I'm listening.",
    "The wind is really strong tonight.", "I'm running a bit late.",
    "Is the post office open today?", "The sky is full of stars.", "Take a deep breath.",
    "Never mind, I found it.", "Maybe we can try again tomorrow.",
    "Everything is going to be fine.", "Which one do you like best?",
    "The tea kettle is whistling.", "Are the windows locked?", "Hold on a minute.",
    "Could you turn on the fan?", "The vacuum cleaner needs a new bag.",
    "I really enjoyed that meal.", "Let's catch up soon.",
    "Tell me a story.", "What's the capital of Australia?", "How tall is the tower?",
    "Start the dishwasher.", "Pause the video.", "Skip this song.", "Call mom.",
    "Lock the back door.", "Dim the living room lights.", "Open the garage.",
)
"""About 200 everyday English sentences and commands for TTS general negatives."""

SHORT_WORDS: tuple[str, ...] = (
    "yes", "no", "okay", "hello", "hi", "thanks", "sorry", "please", "stop", "go", "wait",
    "what", "why", "where", "when", "who", "how", "maybe", "sure", "right", "left", "up",
    "down", "on", "off", "one", "two", "three", "four", "five", "six", "seven", "eight",
    "nine", "ten", "hey", "oh", "wow", "well", "so", "and", "but", "now", "later", "again",
    "music", "light", "lamp", "door", "phone", "coffee", "water", "good", "great", "fine",
    "alright", "cool", "done", "next", "back", "play", "pause", "open", "close", "morning",
    "evening", "today", "tomorrow", "dinner", "kitchen", "garden", "window", "radio",
)
"""Short single words, spoken alone, for general negatives."""


def general_phrases(rng: np.random.Generator, n: int, *, short_fraction: float = 0.25,
                    exclude: tuple[str, ...] = ()) -> list[str]:
    """``n`` general negative texts (sentences and short words), shuffled.

    Texts whose cleaned form contains a cleaned ``exclude`` phrase (the wake word) are dropped.
    """
    banned = [clean_text(e) for e in exclude if clean_text(e)]

    def allowed(text: str) -> bool:
        padded = f" {clean_text(text)} "
        return not any(f" {b} " in padded for b in banned)

    sentences = [s for s in GENERAL_SENTENCES if allowed(s)]
    words = [w for w in SHORT_WORDS if allowed(w)]
    n_short = int(round(n * short_fraction)) if words else 0
    out = [sentences[i % len(sentences)] for i in rng.permutation(max(n - n_short, 0))
           ] if sentences else []
    out += [words[i % len(words)] for i in rng.permutation(n_short)]
    rng.shuffle(out)
    return out
