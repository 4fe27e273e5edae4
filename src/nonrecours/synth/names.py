"""Common French given names and surnames for the synthetic identities (never real people's records)."""

from __future__ import annotations

SURNAMES: tuple[str, ...] = (
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent",
    "Simon", "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard",
    "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Lefevre", "Faure", "Andre",
    "Mercier", "Blanc", "Guerin", "Boyer", "Garnier", "Chevalier", "Francois", "Legrand", "Gauthier",
    "Garcia", "Perrin", "Robin", "Clement", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier",
    "Masson", "Marchand", "Duval", "Denis", "Dumont", "Marie", "Lemaire", "Noel", "Meyer", "Dufour",
    "Meunier", "Brun", "Blanchard", "Giraud", "Joly", "Riviere", "Lucas", "Brunet", "Gaillard", "Barbier",
    "Arnaud", "Martinez", "Gerard", "Roche", "Renard", "Schmitt", "Roy", "Leroux", "Colin", "Vidal",
    "Caron", "Picard", "Roger", "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas", "Lacroix", "Olivier",
    "Philippe", "Bourgeois", "Pierre", "Benoit", "Rey", "Leclerc", "Payet", "Rolland", "Lecomte",
    "Delmas", "Lacoste", "Vergnes", "Lafon", "Bouysset", "Couderc", "Calmels", "Pouget", "Malbec",
)
GIVEN_F: tuple[str, ...] = (
    "Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Martine", "Christine", "Françoise", "Valérie",
    "Sandrine", "Stéphanie", "Véronique", "Sophie", "Céline", "Chantal", "Patricia", "Anne", "Brigitte",
    "Julie", "Monique", "Aurélie", "Nicole", "Laurence", "Émilie", "Claire", "Camille", "Léa", "Manon",
    "Chloé", "Emma", "Inès", "Jade", "Louise", "Alice", "Lina", "Rose", "Anna", "Mila", "Ambre", "Zoé",
    "Jeanne", "Yvette", "Josette", "Odette", "Paulette", "Ginette", "Fatima", "Amina", "Sarah", "Lucie",
)
GIVEN_M: tuple[str, ...] = (
    "Jean", "Philippe", "Michel", "Alain", "Patrick", "Nicolas", "Christophe", "Pierre", "Christian",
    "Éric", "Frédéric", "Laurent", "Stéphane", "David", "Pascal", "Daniel", "Sébastien", "Julien", "Thierry",
    "Olivier", "Bernard", "Thomas", "Alexandre", "Gérard", "Didier", "Dominique", "Vincent", "François",
    "Bruno", "Guillaume", "Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Jules", "Adam", "Raphaël",
    "Léo", "Nathan", "Paul", "Maël", "Noah", "Ethan", "René", "Marcel", "André", "Mohamed", "Karim", "Yanis",
)
STREETS: tuple[str, ...] = (
    "rue de la République", "avenue Jean Jaurès", "rue Nationale", "boulevard Gambetta",
    "rue Victor Hugo", "place du Marché", "chemin des Vignes", "route de Toulouse", "rue du Château",
    "allée des Tilleuls", "impasse des Chênes", "rue des Écoles", "quai Cavaignac", "rue Clément Marot",
    "avenue de la Gare", "chemin de Laroque", "route de Villefranche", "rue du Lot", "lieu-dit Les Bories",
    "rue Saint-Barthélemy", "place de la Libération", "rue des Jardins", "chemin du Causse",
)
