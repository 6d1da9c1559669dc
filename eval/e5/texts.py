"""The texts eval/e5/check.py embeds with both engines: short queries and passages in English,
French, Spanish, German, Malay and Indonesian, long passages of ~150-300 tokens made of them,
accented texts again with their accents decomposed (NFD), a few odd inputs, and the 200 visitor
questions of eval/questions/groups.json. Deterministic: the same list every run."""

import json
import unicodedata
from pathlib import Path

QUERIES = {
    "en": [
        "What are your opening hours?",
        "how do i get a refund",
        "Do you ship to Canada?",
        "my parcel never arrived",
        "Can I change my delivery address after ordering?",
        "is there a discount for students",
        "where is my order #4821",
        "I forgot my password",
        "Can I pay with PayPal?",
        "talk to a human please",
    ],
    "fr": [
        "Quels sont vos horaires d'ouverture ?",
        "comment me faire rembourser",
        "Livrez-vous en Belgique ?",
        "mon colis n'est jamais arrivé",
        "Puis-je modifier l'adresse de livraison après avoir commandé ?",
        "y a-t-il une réduction pour les étudiants",
        "où en est ma commande n°4821",
        "j'ai oublié mon mot de passe",
        "Est-ce que je peux payer par carte bancaire ?",
        "je voudrais parler à quelqu'un, s'il vous plaît",
    ],
    "es": [
        "¿Cuál es su horario de atención?",
        "cómo pido un reembolso",
        "¿Hacen envíos a México?",
        "mi paquete nunca llegó",
        "¿Puedo cambiar la dirección de envío después de pedir?",
        "hay descuento para estudiantes?",
        "dónde está mi pedido nº 4821",
        "olvidé mi contraseña",
        "¿Se puede pagar con tarjeta de crédito?",
        "quiero hablar con una persona, por favor",
    ],
    "de": [
        "Wann haben Sie geöffnet?",
        "wie bekomme ich mein Geld zurück",
        "Liefern Sie auch nach Österreich?",
        "mein Paket ist nie angekommen",
        "Kann ich die Lieferadresse nach der Bestellung ändern?",
        "gibt es einen Rabatt für Studenten",
        "wo ist meine Bestellung Nr. 4821",
        "Ich habe mein Passwort vergessen",
        "Kann ich mit Kreditkarte bezahlen?",
        "ich möchte bitte mit einem Menschen sprechen",
    ],
    "ms": [
        "Bilakah waktu operasi kedai anda?",
        "bagaimana saya boleh mendapatkan bayaran balik",
        "Adakah anda menghantar ke Singapura?",
        "bungkusan saya tidak pernah sampai",
        "Bolehkah saya menukar alamat penghantaran selepas membuat pesanan?",
        "ada diskaun untuk pelajar tak",
        "di mana pesanan saya #4821",
        "saya terlupa kata laluan saya",
        "Boleh bayar guna kad kredit?",
        "saya nak bercakap dengan orang, tolong",
    ],
    "id": [
        "Jam berapa toko Anda buka?",
        "bagaimana cara mendapatkan pengembalian dana",
        "Apakah kalian mengirim ke Malaysia?",
        "paket saya tidak pernah sampai",
        "Bisakah saya mengubah alamat pengiriman setelah memesan?",
        "ada diskon untuk mahasiswa gak",
        "di mana pesanan saya #4821",
        "saya lupa kata sandi",
        "Bisa bayar pakai kartu kredit?",
        "saya mau bicara dengan manusia, tolong",
    ],
}

SENTENCES = {
    "en": [
        "Our shop is open from 9am to 6pm, Monday to Saturday, and closed on public holidays.",
        "Refunds are paid back to the original payment method within five business days of receiving the returned item.",
        "We ship to every country in the European Union, to the United Kingdom, Switzerland and Norway.",
        "Orders over 50 euros ship free; below that, standard delivery costs 4.90 euros.",
        "If your parcel has not arrived after ten days, contact us with your order number and we will open an investigation with the carrier.",
        "You can change the delivery address as long as the order has not been handed to the carrier.",
        "Students get 10% off with a valid student card, applied at checkout.",
        "To reset your password, click 'Forgot password' on the login page and follow the link we email you.",
        "We accept Visa, Mastercard, American Express, PayPal and bank transfers.",
        "Gift cards are valid for two years and can be used online and in our store in Lyon.",
        "Items must be returned unworn, with their labels, within 30 days of delivery.",
        "Express delivery arrives the next working day if you order before 1pm.",
    ],
    "fr": [
        "Notre boutique est ouverte de 9 h à 18 h, du lundi au samedi, et fermée les jours fériés.",
        "Les remboursements sont effectués sur le moyen de paiement d'origine sous cinq jours ouvrés après réception de l'article retourné.",
        "Nous livrons dans tous les pays de l'Union européenne, au Royaume-Uni, en Suisse et en Norvège.",
        "La livraison est offerte dès 50 € d'achat ; en dessous, la livraison standard coûte 4,90 €.",
        "Si votre colis n'est pas arrivé au bout de dix jours, écrivez-nous avec votre numéro de commande : nous ouvrirons une enquête auprès du transporteur.",
        "Vous pouvez modifier l'adresse de livraison tant que la commande n'a pas été remise au transporteur.",
        "Les étudiants bénéficient de 10 % de réduction sur présentation d'une carte d'étudiant valide.",
        "Pour réinitialiser votre mot de passe, cliquez sur « Mot de passe oublié » et suivez le lien reçu par e-mail.",
        "Nous acceptons Visa, Mastercard, American Express, PayPal et les virements bancaires.",
        "Les cartes cadeaux sont valables deux ans, en ligne comme dans notre magasin de Lyon.",
        "Les articles doivent être renvoyés non portés, avec leurs étiquettes, dans les 30 jours suivant la livraison.",
        "Garçon, l'hôtel où nous séjournâmes était à côté d'une forêt très âgée ; ça m'a plu, même si le café était froid.",
    ],
    "es": [
        "Nuestra tienda abre de 9:00 a 18:00, de lunes a sábado, y cierra los días festivos.",
        "Los reembolsos se abonan en el método de pago original en un plazo de cinco días hábiles tras recibir el artículo devuelto.",
        "Enviamos a todos los países de la Unión Europea, al Reino Unido, Suiza y Noruega.",
        "Los pedidos de más de 50 € tienen envío gratuito; por debajo, el envío estándar cuesta 4,90 €.",
        "Si tu paquete no ha llegado en diez días, escríbenos con tu número de pedido y abriremos una investigación con la empresa de transporte.",
        "Puedes cambiar la dirección de entrega mientras el pedido no se haya entregado al transportista.",
        "Los estudiantes tienen un 10 % de descuento presentando un carné de estudiante válido.",
        "Para restablecer tu contraseña, haz clic en «¿Olvidaste tu contraseña?» y sigue el enlace que te enviamos.",
        "Aceptamos Visa, Mastercard, American Express, PayPal y transferencias bancarias.",
        "Las tarjetas regalo son válidas durante dos años, en línea y en nuestra tienda de Lyon.",
        "Los artículos deben devolverse sin usar, con sus etiquetas, en los 30 días siguientes a la entrega.",
        "El señor Muñoz pidió una camiseta de algodón pequeña y un jersey de lana; ¿cuándo llegará el envío?",
    ],
    "de": [
        "Unser Geschäft ist montags bis samstags von 9 bis 18 Uhr geöffnet und an Feiertagen geschlossen.",
        "Erstattungen erfolgen innerhalb von fünf Werktagen nach Eingang der Rücksendung auf das ursprüngliche Zahlungsmittel.",
        "Wir liefern in alle Länder der Europäischen Union, nach Großbritannien, in die Schweiz und nach Norwegen.",
        "Ab 50 € Bestellwert ist der Versand kostenlos; darunter kostet der Standardversand 4,90 €.",
        "Wenn Ihr Paket nach zehn Tagen nicht angekommen ist, schreiben Sie uns mit Ihrer Bestellnummer, und wir leiten beim Versanddienstleister einen Nachforschungsauftrag ein.",
        "Sie können die Lieferadresse ändern, solange die Bestellung noch nicht an den Versanddienstleister übergeben wurde.",
        "Studierende erhalten mit gültigem Studierendenausweis 10 % Rabatt an der Kasse.",
        "Um Ihr Passwort zurückzusetzen, klicken Sie auf „Passwort vergessen“ und folgen Sie dem Link in der E-Mail.",
        "Wir akzeptieren Visa, Mastercard, American Express, PayPal und Überweisungen.",
        "Geschenkgutscheine sind zwei Jahre gültig, online und in unserem Laden in Lyon.",
        "Artikel müssen ungetragen und mit Etikett innerhalb von 30 Tagen nach der Lieferung zurückgeschickt werden.",
        "Die Größenübersicht für Schuhe und Jacken finden Sie unter jedem Produkt; bei Fragen hilft unser Kundendienst gern weiter.",
    ],
    "ms": [
        "Kedai kami dibuka dari jam 9 pagi hingga 6 petang, Isnin hingga Sabtu, dan ditutup pada cuti umum.",
        "Bayaran balik dibuat kepada kaedah pembayaran asal dalam masa lima hari bekerja selepas barang yang dipulangkan diterima.",
        "Kami menghantar ke semua negara Kesatuan Eropah, United Kingdom, Switzerland dan Norway.",
        "Pesanan melebihi 50 euro dihantar secara percuma; di bawah jumlah itu, penghantaran biasa berharga 4.90 euro.",
        "Jika bungkusan anda belum tiba selepas sepuluh hari, hubungi kami dengan nombor pesanan anda dan kami akan membuka siasatan dengan syarikat penghantaran.",
        "Anda boleh menukar alamat penghantaran selagi pesanan belum diserahkan kepada syarikat penghantaran.",
        "Pelajar mendapat diskaun 10% dengan kad pelajar yang sah semasa pembayaran.",
        "Untuk menetapkan semula kata laluan, klik 'Lupa kata laluan' dan ikuti pautan dalam e-mel kami.",
        "Kami menerima Visa, Mastercard, American Express, PayPal dan pindahan bank.",
        "Kad hadiah sah selama dua tahun dan boleh digunakan dalam talian atau di kedai kami.",
    ],
    "id": [
        "Toko kami buka pukul 09.00 sampai 18.00, Senin sampai Sabtu, dan tutup pada hari libur nasional.",
        "Pengembalian dana dikirim ke metode pembayaran awal dalam lima hari kerja setelah barang yang dikembalikan kami terima.",
        "Kami mengirim ke semua negara Uni Eropa, Inggris, Swiss, dan Norwegia.",
        "Pesanan di atas 50 euro gratis ongkos kirim; di bawah itu, pengiriman standar dikenakan biaya 4,90 euro.",
        "Jika paket Anda belum tiba setelah sepuluh hari, hubungi kami dengan nomor pesanan dan kami akan membuka penyelidikan dengan kurir.",
        "Anda dapat mengubah alamat pengiriman selama pesanan belum diserahkan ke kurir.",
        "Mahasiswa mendapat potongan 10% dengan menunjukkan kartu mahasiswa yang masih berlaku.",
        "Untuk mengatur ulang kata sandi, klik 'Lupa kata sandi' lalu ikuti tautan di email kami.",
        "Kami menerima Visa, Mastercard, American Express, PayPal, dan transfer bank.",
        "Kartu hadiah berlaku selama dua tahun dan bisa dipakai secara online maupun di toko kami.",
    ],
}

ODD = [
    "",
    "a",
    "   lots    of     spaces   here   ",
    "Line one.\nLine two.\tTabbed.",
    "ÉCOLE, CAFÉ, NAÏVE, ÜBER, ÑANDÚ",
    "Prices: 19,99 € / $24.50 / £17 — 3×2 offer!!!",
    "https://shop.example/orders/4821?ref=mail&lang=fr",
    "Merci 🙏 pour votre aide 😊",
    "ﬁnancement et ﬂux",  # ligatures, which the tokenizer's normalisation maps
    "Café. Crème brûlée. Piñata. Straße. Ærø. Øre. Łódź.",
]


def _passages(lang, sentences, count):
    """`count` long passages: runs of the language's sentences, each starting elsewhere."""
    out = []
    n = len(sentences)
    for i in range(count):
        k = 7 + (i % 5)  # 7..11 sentences: ~150-300 tokens
        out.append(" ".join(sentences[(i * 3 + j) % n] for j in range(k)))
    return out


def texts():
    """[(kind, role, text)] with kind a short label for the report and role 'query'/'passage'."""
    items = []
    for lang, qs in QUERIES.items():
        items += [(f"{lang} query", "query", q) for q in qs]
    for lang, ss in SENTENCES.items():
        items += [(f"{lang} sentence", "passage", s) for s in ss]
    for lang, ss in SENTENCES.items():
        items += [(f"{lang} long passage", "passage", p) for p in _passages(lang, ss, 6)]
    # The same accented texts with decomposed accents (e + U+0301 for é, ...), as some
    # keyboards and copy-pastes produce them.
    for kind, role, text in list(items):
        if unicodedata.normalize("NFD", text) != text and "long" not in kind:
            items.append((kind.split()[0] + " decomposed", role, unicodedata.normalize("NFD", text)))
    items += [("odd", "query", t) for t in ODD]
    groups = json.loads((Path(__file__).resolve().parents[1] / "questions" / "groups.json").read_text())
    items += [("en visitor question", "query", q) for g in groups for q in g["questions"]]
    return items
